"""Aggregate counters by day, channel, language and metric; the only history kept.

Counts are gathered in memory and added to the database in one write per flush, so
the webhook path does no extra write for them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlmodel import select

from bot.db import SessionFactory, transaction
from bot.models import DailyCount

SUPPRESS_BELOW = 5
"""Counts under this are never shown or exported: small numbers can point to a person."""


class Counts:
    def __init__(self) -> None:
        self._pending: Counter[tuple[dt.date, str, str, str]] = Counter()

    def add(self, *, day: dt.date, channel: str, language: str, metric: str, n: int = 1) -> None:
        self._pending[(day, channel, language, metric)] += n

    async def flush(self, sessions: SessionFactory) -> int:
        pending, self._pending = self._pending, Counter()
        if not pending:
            return 0
        async with transaction(sessions) as session:
            for (day, channel, language, metric), n in pending.items():
                row = (
                    await session.exec(
                        select(DailyCount).where(
                            DailyCount.day == day,
                            DailyCount.channel == channel,
                            DailyCount.language == language,
                            DailyCount.metric == metric,
                        )
                    )
                ).first()
                if row is None:
                    row = DailyCount(day=day, channel=channel, language=language, metric=metric)
                row.count += n
                session.add(row)
        return len(pending)


def suppressed(count: int) -> int | None:
    """Return the count to show, or None where it is too small to show safely."""
    return count if count >= SUPPRESS_BELOW else None
