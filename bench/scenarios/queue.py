"""Scenario 5: listing a long waiting line, and fifty advocates racing for one ticket.

The target is on what the console reads per queue change (a page, the totals, the open
chats), for the first page and for a page deep in the line; the whole-line listing is
timed beside it for comparison.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.env import REDIS_URL, SECRET_KEY, Backend
from bench.options import Options
from bot.helpline import Helpline, build_helpline
from bot.models import Advocate, Ticket, utcnow
from bot.queue import TicketError
from bot.queue_listing import PAGE_SIZE, PageKey, QueueEntry
from bot.settings import Settings

TARGET_LIST_MS = 50.0
LIST_REPEATS = 20
RACE_ROUNDS = 10


def run(backend: Backend, options: Options) -> dict[str, Any]:
    backend.create()
    try:
        return asyncio.run(_measure(backend, options))
    finally:
        backend.drop()


def settings_for(backend: Backend) -> Settings:
    values: dict[str, object] = {
        "HELPLINE_MODE": "serve",
        "HELPLINE_SECRET_KEY": SECRET_KEY,
        "HELPLINE_DATABASE_URL": backend.database_url,
        "HELPLINE_LOG_LEVEL": "WARNING",
    }
    if backend.redis_url:
        values["HELPLINE_REDIS_URL"] = REDIS_URL
    return Settings.model_validate(values)


async def _measure(backend: Backend, options: Options) -> dict[str, Any]:
    helpline = build_helpline(settings_for(backend))
    await helpline.start()
    try:
        await _fill_line(helpline, options.waiting_tickets)
        whole = await _timed(helpline.queue.entries)
        assert len(await helpline.queue.entries()) == options.waiting_tickets
        first = await _timed(lambda: _console_read(helpline, None))
        deep_key = await _key_at(helpline, options.waiting_tickets * 9 // 10)
        deep = await _timed(lambda: _console_read(helpline, deep_key))
        assert len(await _console_read(helpline, deep_key)) == PAGE_SIZE
        advocates = await _advocates(helpline, options.advocates)
        winners = [await _race(helpline, advocates) for _ in range(RACE_ROUNDS)]
    finally:
        await helpline.stop()
    page_median = statistics.median(first)
    deep_median = statistics.median(deep)
    return {
        "waiting": options.waiting_tickets,
        "list_ms_median": round(statistics.median(whole), 2),
        "list_ms_max": round(max(whole), 2),
        "list_ms_first": round(whole[0], 2),
        "page_size": PAGE_SIZE,
        "page_ms_median": round(page_median, 2),
        "page_ms_max": round(max(first), 2),
        "deep_page_position": options.waiting_tickets * 9 // 10,
        "deep_page_ms_median": round(deep_median, 2),
        "deep_page_ms_max": round(max(deep), 2),
        "list_target_met": page_median < TARGET_LIST_MS and deep_median < TARGET_LIST_MS,
        "advocates": len(advocates),
        "rounds": RACE_ROUNDS,
        "winners_per_round": sorted(set(winners)),
        "claim_target_met": all(count == 1 for count in winners),
        "via": "Queue.entries (whole line) / Queue.waiting_page + waiting_summary + open_chats "
        "(what the console reads per change) / Queue.claim, in-process",
    }


async def _timed(read: Callable[[], Awaitable[object]]) -> list[float]:
    timings = []
    for _ in range(LIST_REPEATS):
        started = time.perf_counter()
        await read()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def _console_read(helpline: Helpline, after: PageKey | None) -> list[QueueEntry]:
    """What an advocate's console reads on each queue change: a page, the totals, the chats."""
    page = await helpline.queue.waiting_page(spoken=("en",), size=PAGE_SIZE, after=after)
    await helpline.queue.waiting_summary()
    await helpline.queue.open_chats()
    return page.entries


async def _key_at(helpline: Helpline, position: int) -> PageKey:
    """Where the page starting at ``position`` begins: reached by pages, as "Show more" does."""
    key: PageKey | None = None
    walked = 0
    while walked < position:
        page = await helpline.queue.waiting_page(
            spoken=("en",), size=min(1_000, position - walked), after=key
        )
        walked += len(page.entries)
        key = page.next
        assert key is not None
    assert key is not None
    return key


async def _fill_line(helpline: Helpline, count: int) -> None:
    start = utcnow() - dt.timedelta(hours=1)
    async with helpline.sessions() as session, session.begin():
        for index in range(count):
            session.add(
                Ticket(
                    public_alias=f"Bench {index}",
                    channel="sms",
                    language="en",
                    country="US",
                    urgent=index % 97 == 0,
                    created_at=start + dt.timedelta(milliseconds=index),
                    hold_until=start + dt.timedelta(hours=3),
                )
            )


async def _advocates(helpline: Helpline, count: int) -> list[int]:
    async with helpline.sessions() as session, session.begin():
        rows = [
            Advocate(
                name=f"bench-advocate-{index}",
                password_hash="-",
                totp_secret_ciphertext=b"-",
                languages="en",
            )
            for index in range(count)
        ]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows if row.id is not None]


async def _race(helpline: Helpline, advocates: list[int]) -> int:
    """Open one ticket and let every advocate claim it at once; return how many won."""
    async with helpline.sessions() as session, session.begin():
        ticket = Ticket(public_alias="Race", channel="sms", language="en", country="US")
        session.add(ticket)
        await session.flush()
        ticket_id = ticket.id
    assert ticket_id is not None

    async def claim(advocate_id: int) -> bool:
        try:
            await helpline.queue.claim(ticket_id=ticket_id, advocate_id=advocate_id)
        except TicketError:
            return False
        return True

    outcomes = await asyncio.gather(*(claim(advocate) for advocate in advocates))
    return sum(outcomes)
