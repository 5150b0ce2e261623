"""Scenario 5: listing a long waiting line, and fifty advocates racing for one ticket."""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import col

from bench.env import REDIS_URL, SECRET_KEY, Backend
from bench.options import Options
from bot.helpline import Helpline, build_helpline
from bot.models import Advocate, Ticket, utcnow
from bot.queue import QueueEntry, TicketError
from bot.settings import Settings
from bot.states import TicketStatus

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
        timings = []
        for _ in range(LIST_REPEATS):
            started = time.perf_counter()
            entries = await helpline.queue.entries()
            timings.append((time.perf_counter() - started) * 1000)
        assert len(entries) == options.waiting_tickets
        columns = []
        for _ in range(LIST_REPEATS):
            started = time.perf_counter()
            rows = await _entries_by_columns(helpline)
            columns.append((time.perf_counter() - started) * 1000)
        assert len(rows) == options.waiting_tickets
        advocates = await _advocates(helpline, options.advocates)
        winners = [await _race(helpline, advocates) for _ in range(RACE_ROUNDS)]
    finally:
        await helpline.stop()
    median = statistics.median(timings)
    return {
        "waiting": options.waiting_tickets,
        "list_ms_median": round(median, 2),
        "list_ms_max": round(max(timings), 2),
        "list_ms_first": round(timings[0], 2),
        "list_target_met": median < TARGET_LIST_MS,
        "list_ms_median_columns_prototype": round(statistics.median(columns), 2),
        "advocates": len(advocates),
        "rounds": RACE_ROUNDS,
        "winners_per_round": sorted(set(winners)),
        "claim_target_met": all(count == 1 for count in winners),
        "via": "Queue.entries / Queue.claim in-process",
    }


async def _entries_by_columns(helpline: Helpline) -> list[QueueEntry]:
    """The same listing as ``Queue.entries`` reading columns, not ORM objects (a proposal)."""
    statuses = [TicketStatus.WAITING, TicketStatus.ACTIVE]
    async with helpline.sessions() as session:
        rows = await session.execute(
            sa_select(
                col(Ticket.id),
                col(Ticket.public_alias),
                col(Ticket.channel),
                col(Ticket.language),
                col(Ticket.country),
                col(Ticket.urgent),
                col(Ticket.status),
                col(Ticket.created_at),
                col(Ticket.advocate_id),
            )
            .where(col(Ticket.status).in_(statuses))
            .order_by(col(Ticket.urgent).desc(), col(Ticket.created_at))
        )
        return [
            QueueEntry(
                id=row[0] or 0,
                public_alias=row[1],
                channel=row[2],
                language=row[3],
                country=row[4],
                urgent=row[5],
                status=TicketStatus(row[6]),
                created_at=row[7],
                advocate_id=row[8],
            )
            for row in rows.all()
        ]


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
