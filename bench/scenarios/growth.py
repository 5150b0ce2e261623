"""Scenario 7: the cost of a message as the line grows from 1,000 people to 100,000.

At each step the database is filled in bulk to the step's size (people with their
state, a tenth of them waiting in line with a ticket, written with the real tables,
not through webhooks, so a step takes seconds), a fresh server starts on it (so it
loads whatever it keeps in memory at that size), and wrk sends the same mix of SMS
webhooks as the ``sms`` scenario: per-message time (1 / throughput at saturation),
p50/p99 latency and each worker's memory. The figure judged is the per-message time
at the largest step against the smallest: a help line that slows as it grows fails a
campaign exactly when it succeeds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from bench import wrk
from bench.env import (
    TWILIO_SID,
    TWILIO_TOKEN,
    Backend,
    FakeCarrierProcess,
    free_port,
    helpline_env,
    serving,
)
from bench.options import Options
from bench.traffic import SMS_PATH, write_sms_requests
from bot.db import create_engine
from bot.models import Contact, Ticket, utcnow
from bot.states import State, TicketStatus

STEPS = ((1_000, 100), (10_000, 1_000), (100_000, 10_000))
"""(people, tickets waiting) at each step; ``--quick`` stops at the second."""
CHUNK = 5_000
_CONTACTS = Contact.__table__  # type: ignore[attr-defined]
_TICKETS = Ticket.__table__  # type: ignore[attr-defined]
SIGNATURE = "X-Twilio-Signature"


def run(backend: Backend, options: Options) -> dict[str, Any]:
    steps = STEPS[:2] if options.quick else STEPS
    seconds = min(options.seconds, 5.0)
    backend.create()
    try:
        results = []
        people = tickets = 0
        for index, (target_people, target_tickets) in enumerate(steps):
            asyncio.run(_seed(backend.database_url, people, target_people, tickets, target_tickets))
            people, tickets = target_people, target_tickets
            results.append(
                _step(backend, options, seconds, index) | {"people": people, "tickets": tickets}
            )
    finally:
        backend.drop()
    first, last = results[0], results[-1]
    return {
        "steps": results,
        "seconds_per_step": seconds,
        "first_people": first["people"],
        "last_people": last["people"],
        "last_tickets": last["tickets"],
        "per_message_ratio": round(last["per_message_ms"] / first["per_message_ms"], 2)
        if first["per_message_ms"]
        else None,
        "p50_ratio": round(last["p50_ms"] / first["p50_ms"], 2) if first["p50_ms"] else None,
        "rss_mb_last": last["rss_mb"],
        "errors": sum(step["errors"] for step in results),
        "non_2xx": sum(step["non_2xx"] for step in results),
        "valid": all(step["errors"] == 0 and step["non_2xx"] == 0 for step in results),
    }


def _step(backend: Backend, options: Options, seconds: float, index: int) -> dict[str, Any]:
    """Start a server on the database as it is now; measure the SMS mix against it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}{SMS_PATH}"
    # Each step's senders are new to the line (ids far apart), like the sms scenario's.
    start = 60_000_000 + index * 2_000_000
    with tempfile.TemporaryDirectory(prefix="helpline-bench-growth-") as work:
        warmup = write_sms_requests(
            Path(work, "warm.txt"),
            count=options.warmup_requests,
            url=url,
            token=TWILIO_TOKEN,
            account_sid=TWILIO_SID,
            start=start + 1_000_000,
        )
        bodies = write_sms_requests(
            Path(work, "sms.txt"),
            count=options.requests_for(seconds),
            url=url,
            token=TWILIO_TOKEN,
            account_sid=TWILIO_SID,
            start=start,
        )
        with FakeCarrierProcess() as carrier:
            env = helpline_env(backend, port, twilio_api=carrier.url, telegram_api=None)
            with serving("bot.asgi:app", workers=backend.workers, env=env, port=port) as server:
                rss_start = max(server.rss_mb())
                for path, length in ((warmup, options.warmup_seconds), (bodies, seconds)):
                    result = wrk.run(
                        server.url,
                        SMS_PATH,
                        path,
                        connections=options.connections,
                        seconds=length,
                        header=SIGNATURE,
                    )
                rss = max(server.rss_mb())
                # What the workers said when some answer was not 2xx (our logs carry no
                # content or numbers, only states, ids and counts).
                said = server.output()[-2000:] if result.non_2xx else ""
    return {
        "rps": result.rps,
        "per_message_ms": round(1000 / result.rps, 3) if result.rps else None,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "requests": result.requests,
        "errors": result.errors,
        "non_2xx": result.non_2xx,
        "rss_mb_start": round(rss_start, 1),
        "rss_mb": round(rss, 1),
    } | ({"worker_log_tail": said} if said else {})


async def _seed(url: str, people: int, to_people: int, tickets: int, to_tickets: int) -> None:
    """Add people (state only, as the engine saves it) and waiting tickets, in bulk."""
    engine = create_engine(url)
    now = utcnow()
    try:
        async with engine.begin() as connection:
            aliases = [secrets.token_hex(32) for _ in range(to_people - people)]
            waiting = aliases[: to_tickets - tickets]
            for at, chunk in _chunks(waiting):
                rows = [_ticket(alias, now, tickets + at + n) for n, alias in enumerate(chunk)]
                await connection.execute(insert(_TICKETS), rows)
            found = await connection.execute(select(_TICKETS.c.contact_alias, _TICKETS.c.id))
            ids: dict[str, int] = {alias: ticket for alias, ticket in found.all()}
            for at, chunk in _chunks(aliases):
                rows = [
                    _contact(alias, now, people + at + n, ids.get(alias))
                    for n, alias in enumerate(chunk)
                ]
                await connection.execute(insert(_CONTACTS), rows)
    finally:
        await engine.dispose()


def _chunks(items: list[str]) -> list[tuple[int, list[str]]]:
    return [(at, items[at : at + CHUNK]) for at in range(0, len(items), CHUNK)]


def _ticket(alias: str, now: dt.datetime, index: int) -> dict[str, Any]:
    created = now - dt.timedelta(minutes=30) + dt.timedelta(milliseconds=index)
    return {
        "contact_alias": alias,
        "public_alias": f"Growth {index}",
        "channel": "sms",
        "language": "en",
        "country": "US",
        "urgent": index % 97 == 0,
        "status": TicketStatus.WAITING,
        "created_at": created,
        "hold_until": now + dt.timedelta(hours=3),
        "outcomes": "",
    }


def _contact(alias: str, now: dt.datetime, index: int, ticket_id: int | None) -> dict[str, Any]:
    # Spread over the last hours, inside the person-state retention window.
    seen = now - dt.timedelta(seconds=(index * 7) % (6 * 3600))
    return {
        "alias": alias,
        "channel": "sms",
        "language": "en",
        "country": "US",
        "country_said": False,
        "state": State.QUEUED if ticket_id is not None else State.MAIN_MENU,
        "discreet": False,
        "opted_out": False,
        "ticket_id": ticket_id,
        "session_started": seen,
        "last_seen": seen,
        "last_queue_notice": None,
        "concern": False,
        "asked": None,
    }
