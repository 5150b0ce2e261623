"""Aggregate counters by day, channel, language and metric; the only history kept.

Counts are gathered in memory and added to the database in one write per flush, so
the webhook path does no extra write for them. Ticket outcomes are counted from the
closed tickets still held and, once retention deletes those, from the daily counts the
purge leaves behind. Any count under five is suppressed wherever it is shown.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import SessionFactory, transaction
from bot.models import DailyCount, Ticket
from bot.settings import Settings
from bot.states import TicketStatus

SUPPRESS_BELOW = 5
"""Counts under this are never shown or exported: small numbers can point to a person."""


class Counts:
    def __init__(self) -> None:
        self._pending: Counter[tuple[dt.date, str, str, str, str]] = Counter()

    def add(
        self,
        *,
        day: dt.date,
        channel: str,
        language: str,
        metric: str,
        n: int = 1,
        country: str = "",
    ) -> None:
        """Count ``n`` of ``metric``; ``country`` only for counts of contacts (an ISO code)."""
        self._pending[(day, channel, language, country, metric)] += n

    async def flush(self, sessions: SessionFactory) -> int:
        """Add what was counted to the database: one upsert that adds, safe on any worker.

        Several workers flush the same (day, channel, language, metric) rows; each adds
        its own numbers in one statement, so none collides with another's insert. If the
        write fails the numbers are kept for the next flush. A worker killed with
        SIGKILL loses at most what it counted since its last flush (housekeeping flushes
        every 30 seconds, see bot.tasks).
        """
        pending, self._pending = self._pending, Counter()
        if not pending:
            return 0
        rows = [
            {
                "day": day,
                "channel": channel,
                "language": language,
                "country": country,
                "metric": metric,
                "count": n,
            }
            for (day, channel, language, country, metric), n in pending.items()
        ]
        try:
            async with transaction(sessions) as session:
                await session.exec(_adding_upsert(session), params=rows)
        except BaseException:
            self._pending.update(pending)
            raise
        return len(pending)


def _adding_upsert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgres_insert if dialect == "postgresql" else sqlite_insert
    table = DailyCount.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[
            table.c.day,
            table.c.channel,
            table.c.language,
            table.c.country,
            table.c.metric,
        ],
        set_={"count": table.c.count + statement.excluded["count"]},
    )


def suppressed(count: int) -> int | None:
    """Return the count to show, or None where it is too small to show safely."""
    return count if count >= SUPPRESS_BELOW else None


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the daily report; ``count`` is None where it is suppressed."""

    day: dt.date
    channel: str
    language: str
    metric: str
    count: int | None

    @property
    def shown(self) -> str:
        return str(self.count) if self.count is not None else f"<{SUPPRESS_BELOW}"


async def daily_report(sessions: SessionFactory, since: dt.date) -> list[Row]:
    """Return the aggregate counts from ``since`` on, small counts suppressed."""
    totals: Counter[tuple[dt.date, str, str, str]] = Counter()
    async with sessions() as session:
        for row in (await session.exec(select(DailyCount).where(DailyCount.day >= since))).all():
            totals[(row.day, row.channel, row.language, row.metric)] += row.count
        closed = await session.exec(
            select(Ticket.closed_at, Ticket.channel, Ticket.language, Ticket.outcomes)
            .where(Ticket.status == TicketStatus.CLOSED)
            .where(col(Ticket.closed_at) >= dt.datetime.combine(since, dt.time(), dt.UTC))
        )
        for closed_at, channel, language, outcomes in closed.all():
            assert closed_at is not None
            for code in filter(None, outcomes.split(",")):
                totals[(closed_at.date(), channel, language, f"outcome:{code}")] += 1
    return [
        Row(day, channel, language, metric, suppressed(count))
        for (day, channel, language, metric), count in sorted(totals.items())
    ]


async def report_command(settings: Settings, *, days: int) -> int:
    """Print the daily report as CSV for ``helpline report``."""
    from bot.helpline import build_helpline

    helpline = build_helpline(settings)
    try:
        rows = await daily_report(helpline.sessions, helpline.clock().date() - dt.timedelta(days))
    finally:
        await helpline.db.dispose()
    out = csv.writer(sys.stdout)
    out.writerow(("day", "channel", "language", "metric", "count"))
    for row in rows:
        out.writerow((row.day.isoformat(), row.channel, row.language, row.metric, row.shown))
    return 0
