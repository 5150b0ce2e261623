"""Scenario 3: live conversations both ways, timed on loopback.

Person → advocate: a signed SMS webhook posted to the server until the relay event
reaches the advocate's subscription on the ticket topic. Advocate → person:
``Queue.send_to_person`` (what the console calls for an advocate's message) until the
fake Twilio API receives it. On PostgreSQL + Redis the server is two uvicorn workers
and the advocate side is this process, so every event crosses Redis. On SQLite the
in-process relay lives in the one worker, so that worker runs inside this process
(uvicorn on a real socket) and the advocate side shares it.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import uvicorn
from sqlmodel import col, select

from bench.env import Backend, free_port, helpline_env, serving
from bench.fakes import FakeCarriers
from bench.loadgen import Waiters
from bench.options import Options
from bench.post import post_sms
from bench.traffic import Message, phone
from bot.app import create_app
from bot.channels.sms import SmsChannel
from bot.helpline import Helpline, build_helpline
from bot.models import Advocate, Ticket
from bot.relay import Subscription, ticket_topic
from bot.settings import Settings
from bot.types import Channel

TARGET_P99_MS = 20.0
TIMEOUT = 10.0


def run(backend: Backend, options: Options) -> dict[str, Any]:
    backend.create()
    try:
        return asyncio.run(_run(backend, options))
    finally:
        backend.drop()


async def _run(backend: Backend, options: Options) -> dict[str, Any]:
    waiters = Waiters()
    fake = FakeCarriers(on_arrival=waiters.arrived)
    await fake.start()
    port = free_port()
    env = helpline_env(backend, port, twilio_api=fake.url, telegram_api=None)
    settings = Settings.model_validate(env)
    try:
        async with _server(backend, env, settings, port) as (base, helpline):
            return await _measure(base, helpline, waiters, options)
    finally:
        await fake.stop()


@contextlib.asynccontextmanager
async def _server(
    backend: Backend, env: dict[str, str], settings: Settings, port: int
) -> AsyncIterator[tuple[str, Helpline]]:
    if backend.workers == 1:
        app = create_app(settings)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}", app.state.helpline
        finally:
            server.should_exit = True
            await task
        return
    helpline = build_helpline(settings)
    channel = SmsChannel(helpline)
    await helpline.start()
    await channel.start()
    try:
        with serving("bot.asgi:app", workers=backend.workers, env=env, port=port) as process:
            yield process.url, helpline
    finally:
        await channel.stop()
        await helpline.stop()


async def _measure(
    base: str, helpline: Helpline, waiters: Waiters, options: Options
) -> dict[str, Any]:
    count = options.conversations
    people = [Message(30_000_000 + index, "hello", new=True) for index in range(count)]
    for text in ("hello", "talk", "1"):
        await post_sms(base, [Message(p.sender, text, False) for p in people])
    tickets = await _tickets(helpline, people)
    advocates = await _advocates(helpline, count)
    for ticket_id, advocate_id in zip(tickets.values(), advocates, strict=True):
        await helpline.queue.claim(ticket_id=ticket_id, advocate_id=advocate_id)
    await asyncio.sleep(0.5)  # the "you are connected" notices reach the fake first

    inbound: list[float] = []
    outbound: list[float] = []
    rounds = 3 if options.quick else 10
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(aiohttp.ClientSession())
        subscriptions = {
            sender: await stack.enter_async_context(helpline.relay.subscribe(ticket_topic(ticket)))
            for sender, ticket in tickets.items()
        }
        await asyncio.sleep(0.3)  # Redis confirms the subscriptions

        async def conversation(sender: int, advocate_id: int, round_: int) -> None:
            subscription = subscriptions[sender]
            started = time.perf_counter()
            await post_sms(
                base,
                [Message(sender, f"bench words {round_}", False)],
                concurrency=1,
                client=client,
            )
            await _next_message(subscription)
            inbound.append(time.perf_counter() - started)
            arrival = waiters.expect(phone(sender))
            started = time.perf_counter()
            await helpline.queue.send_to_person(
                ticket_id=tickets[sender], advocate_id=advocate_id, text=f"advocate words {round_}"
            )
            done = await asyncio.wait_for(arrival, TIMEOUT)
            outbound.append(done - started)

        for round_ in range(rounds):
            await asyncio.gather(
                *(
                    conversation(sender, advocate, round_)
                    for sender, advocate in zip(tickets, advocates, strict=True)
                )
            )
    return {
        "conversations": len(tickets),
        "rounds": rounds,
        "directions": {
            "person→advocate": _summary(inbound),
            "advocate→carrier": _summary(outbound),
        },
        "how": "webhook → relay subscription; Queue.send_to_person → fake Twilio",
    }


async def _next_message(subscription: Subscription) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        event = await asyncio.wait_for(subscription.get(), TIMEOUT)
        if event.get("type") == "message":
            return
    raise TimeoutError("no relayed message")


def _summary(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "target_met": False}
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "target_met": p99 < TARGET_P99_MS,
    }


async def _tickets(helpline: Helpline, people: list[Message]) -> dict[int, int]:
    """Map each sender to their waiting ticket, found by alias as the server computed it."""
    found: dict[int, int] = {}
    async with helpline.sessions() as session:
        for person in people:
            alias, _ = await helpline.engine.identify(Channel.SMS, phone(person.sender))
            ticket = (
                await session.exec(select(Ticket).where(col(Ticket.contact_alias) == alias))
            ).first()
            if ticket is not None and ticket.id is not None:
                found[person.sender] = ticket.id
    if len(found) != len(people):
        raise RuntimeError(f"only {len(found)} of {len(people)} people reached the line")
    return found


async def _advocates(helpline: Helpline, count: int) -> list[int]:
    async with helpline.sessions() as session, session.begin():
        rows = [
            Advocate(name=f"relay-advocate-{index}", password_hash="-", totp_secret_ciphertext=b"-")
            for index in range(count)
        ]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows if row.id is not None]
