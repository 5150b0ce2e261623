"""Daily counts from several workers add up; none is lost to a collision."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

from sqlmodel import select

from bot.counts import Counts
from bot.helpline import Helpline
from bot.models import DailyCount


async def total(helpline: Helpline, metric: str) -> int:
    async with helpline.sessions() as session:
        rows = (await session.exec(select(DailyCount).where(DailyCount.metric == metric))).all()
    return sum(row.count for row in rows)


async def test_workers_flushing_the_same_counts_at_once_add_them_all(helpline: Helpline) -> None:
    day = dt.date(2026, 11, 30)
    workers = [Counts() for _ in range(8)]
    for counts in workers:
        counts.add(day=day, channel="sms", language="en", metric="message", n=3)
        counts.add(day=day, channel="sms", language="es", metric="message", n=1)
    await asyncio.gather(*(counts.flush(helpline.sessions) for counts in workers))
    assert await total(helpline, "message") == 8 * 4
    # A second round adds to the rows the first one created.
    for counts in workers:
        counts.add(day=day, channel="sms", language="en", metric="message")
        await counts.flush(helpline.sessions)
    assert await total(helpline, "message") == 8 * 4 + 8


async def test_counts_whose_write_failed_are_written_by_the_next_flush(helpline: Helpline) -> None:
    counts = Counts()
    counts.add(day=dt.date(2026, 11, 30), channel="sms", language="en", metric="kept", n=2)
    await helpline.db.dispose()
    broken = helpline.sessions.kw["bind"]
    helpline.sessions.configure(bind=None)
    # Any failure will do: the numbers must survive it.
    with contextlib.suppress(Exception):
        await counts.flush(helpline.sessions)
    helpline.sessions.configure(bind=broken)
    await counts.flush(helpline.sessions)
    assert await total(helpline, "kept") == 2
