"""Scenario 4: resident memory of a worker after many people have written."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import col, func, select

from bench.env import Backend, FakeCarrierProcess, free_port, helpline_env, serving
from bench.options import Options
from bench.post import post_sms
from bench.scenarios.queue import settings_for
from bench.traffic import Message
from bot.db import create_engine, session_factory
from bot.models import Contact, Ticket
from bot.states import TicketStatus


def run(backend: Backend, options: Options) -> dict[str, Any]:
    people = [Message(20_000_000 + index, "hello", new=True) for index in range(options.people)]
    talkers = people[: options.open_tickets]
    backend.create()
    try:
        with FakeCarrierProcess() as carrier:
            port = free_port()
            env = helpline_env(backend, port, twilio_api=carrier.url, telegram_api=None)
            with serving("bot.asgi:app", workers=backend.workers, env=env, port=port) as server:
                idle = server.rss_mb()
                phases = {
                    "hello": asyncio.run(post_sms(server.url, people)),
                    "talk": asyncio.run(
                        post_sms(server.url, [Message(m.sender, "talk", False) for m in talkers])
                    ),
                    "yes": asyncio.run(
                        post_sms(server.url, [Message(m.sender, "1", False) for m in talkers])
                    ),
                }
                rss = server.rss_mb()
        contacts, waiting = asyncio.run(_count(backend))
    finally:
        backend.drop()
    return {
        "people": options.people,
        "open_tickets": waiting,
        "contacts": contacts,
        "statuses": phases,
        "rss_mb_idle": [round(value, 1) for value in idle],
        "rss_mb": [round(value, 1) for value in rss],
        "rss_mb_max": round(max(rss), 1),
        "open_tickets_expected": options.open_tickets,
        "complete": waiting == options.open_tickets,
    }


async def _count(backend: Backend) -> tuple[int, int]:
    engine = create_engine(settings_for(backend).database_url)
    try:
        async with session_factory(engine)() as session:
            contacts = (await session.exec(select(func.count()).select_from(Contact))).one()
            waiting = (
                await session.exec(
                    select(func.count())
                    .select_from(Ticket)
                    .where(col(Ticket.status) == TicketStatus.WAITING)
                )
            ).one()
    finally:
        await engine.dispose()
    return int(contacts), int(waiting)
