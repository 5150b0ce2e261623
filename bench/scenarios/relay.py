"""Scenario 3: the relay hop of a live conversation, both ways, on loopback.

Person → advocate: a signed SMS webhook posted to the server until the relay event
reaches the advocate's subscription on the ticket topic. Advocate → person:
``Queue.send_to_person`` (what the console calls for an advocate's message) until the
fake Twilio API receives it. Three measurements:

- **idle**: one message at a time with the webhook path otherwise quiet (the hop itself);
- **loaded**: the same while wrk saturates the SMS path with menu traffic from other
  senders (what a live chat feels during a campaign's burst);
- **burst**: every conversation at once (mostly queueing; shown, not judged).

On PostgreSQL + Redis the server is two uvicorn workers and the advocate side is this
process, so every event crosses Redis. On SQLite the in-process relay lives in the one
worker, so that worker runs inside this process (uvicorn on a real socket) and the
advocate side shares it, as the console does.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import uvicorn
from sqlmodel import col, select

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
from bench.fakes import FakeCarriers
from bench.loadgen import Waiters
from bench.options import Options
from bench.post import post_sms
from bench.traffic import SMS_PATH, Message, phone, write_sms_requests
from bot.app import create_app
from bot.channels.sms import SmsChannel
from bot.helpline import Helpline, build_helpline
from bot.models import Advocate, Ticket, utcnow
from bot.relay import Subscription, ticket_topic
from bot.server_options import uvicorn_options
from bot.settings import Settings
from bot.types import Channel

TIMEOUT = 10.0
MENU_SENDERS = 1_000_000
"""Where the menu traffic's sender ids start: never one of the live conversations."""
SETTLE_SECONDS = 0.5
"""wrk's connections are all open and busy before the first loaded hop is timed."""
LOADED_PACE_SECONDS = 0.1
"""Under load a hop starts every 100 ms (ten live chats writing a message a second, each
way): live traffic at a realistic share of the burst, not a second flood."""


@dataclass(frozen=True, slots=True)
class Chat:
    sender: int
    ticket: int
    advocate: int
    subscription: Subscription


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
        app = create_app(settings, worker=True)
        # The same server options as every other benchmark server (bot/server_options.py).
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", **uvicorn_options()
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
        # The workers delete message records at a fake of their own, so that work does
        # not land on this process, which times the advocate's side.
        with FakeCarrierProcess() as carrier:
            workers_env = env | {"TWILIO_API_BASE_URL": carrier.url}
            with serving("bot.asgi:app", workers=backend.workers, env=workers_env, port=port) as p:
                yield p.url, helpline
    finally:
        await channel.stop()
        await helpline.stop()


async def _measure(
    base: str, helpline: Helpline, waiters: Waiters, options: Options
) -> dict[str, Any]:
    people = [
        Message(30_000_000 + index, "hello", new=True) for index in range(options.conversations)
    ]
    for text in ("hello", "talk", "1"):
        await post_sms(base, [Message(p.sender, text, False) for p in people])
    tickets = await _tickets(helpline, people)
    advocates = await _advocates(helpline, len(tickets))
    for ticket_id, advocate_id in zip(tickets.values(), advocates, strict=True):
        await helpline.queue.claim(ticket_id=ticket_id, advocate_id=advocate_id)
    await asyncio.sleep(0.5)  # the "you are connected" notices reach the fake first

    hops = 50 if options.quick else 200
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(aiohttp.ClientSession())
        chats = [
            Chat(
                sender,
                ticket,
                advocate,
                await stack.enter_async_context(helpline.relay.subscribe(ticket_topic(ticket))),
            )
            for (sender, ticket), advocate in zip(tickets.items(), advocates, strict=True)
        ]
        await asyncio.sleep(0.3)  # Redis confirms the subscriptions
        hop = _Hop(base, helpline, waiters, client)
        idle = await hop.many(chats, hops)
        loaded = await _loaded(hop, chats, hops, options)
        rounds = 3 if options.quick else 5
        burst: tuple[list[float], list[float]] = ([], [])
        for round_ in range(rounds):
            for to_advocate, to_person in await asyncio.gather(
                *(hop.one(chat, f"burst {round_}") for chat in chats)
            ):
                burst[0].append(to_advocate)
                burst[1].append(to_person)
    return {
        "conversations": len(chats),
        "idle": _directions(idle),
        "loaded": _directions(loaded[0]) | loaded[1],
        "burst": {"conversations": len(chats), "rounds": rounds} | _directions(burst),
        "how": "webhook → relay subscription; Queue.send_to_person → fake Twilio",
    }


class _Hop:
    """One message each way in one live chat, timed."""

    def __init__(
        self, base: str, helpline: Helpline, waiters: Waiters, client: aiohttp.ClientSession
    ) -> None:
        self.base = base
        self.helpline = helpline
        self.waiters = waiters
        self.client = client

    async def one(self, chat: Chat, words: str) -> tuple[float, float]:
        """Seconds person → advocate's subscription, and advocate → fake carrier."""
        started = time.perf_counter()
        posted = asyncio.create_task(
            post_sms(
                self.base, [Message(chat.sender, words, False)], concurrency=1, client=self.client
            )
        )
        event = await _next_message(chat.subscription)
        to_advocate = time.perf_counter() - started
        statuses = await posted
        if statuses != {"200": 1}:
            raise RuntimeError(f"a live chat's webhook was answered {statuses}")
        # The advocate's page acknowledges what it shows (unacknowledged words are
        # re-offered and finally reported as missed to the person).
        await self.helpline.queue.acknowledge(chat.ticket, str(event["id"]))
        arrival = self.waiters.expect(phone(chat.sender))
        started = time.perf_counter()
        await self.helpline.queue.send_to_person(
            ticket_id=chat.ticket, advocate_id=chat.advocate, text=f"advocate {words}"
        )
        done = await asyncio.wait_for(arrival, TIMEOUT)
        return to_advocate, done - started

    async def many(
        self,
        chats: list[Chat],
        count: int,
        until: asyncio.Future[Any] | None = None,
        pace: float = 0.0,
    ) -> tuple[list[float], list[float]]:
        """``count`` hops one after another round the chats, one every ``pace`` seconds at
        most, or fewer if ``until`` is done first."""
        timings: tuple[list[float], list[float]] = ([], [])
        for index in range(count):
            if until is not None and until.done():
                break
            started = time.perf_counter()
            to_advocate, to_person = await self.one(chats[index % len(chats)], f"words {index}")
            timings[0].append(to_advocate)
            timings[1].append(to_person)
            await asyncio.sleep(max(0.0, pace - (time.perf_counter() - started)))
        return timings


async def _loaded(
    hop: _Hop, chats: list[Chat], hops: int, options: Options
) -> tuple[tuple[list[float], list[float]], dict[str, Any]]:
    """Hops while wrk saturates the SMS path with menu traffic from other people."""
    seconds = 6.0 if options.quick else 12.0
    with tempfile.TemporaryDirectory(prefix="helpline-bench-relay-") as work:
        bodies = write_sms_requests(
            Path(work, "menu.txt"),
            count=options.requests_for(seconds) // 2,
            url=hop.base + SMS_PATH,
            token=TWILIO_TOKEN,
            account_sid=TWILIO_SID,
            start=MENU_SENDERS,
        )
        load = asyncio.ensure_future(
            asyncio.to_thread(
                wrk.run,
                hop.base,
                SMS_PATH,
                bodies,
                connections=options.connections,
                seconds=seconds,
                header="X-Twilio-Signature",
            )
        )
        await asyncio.sleep(SETTLE_SECONDS)
        timings = await hop.many(chats, hops, until=load, pace=LOADED_PACE_SECONDS)
        menu = await load
    return timings, {
        "menu": menu.as_dict(),
        "menu_answered": menu.errors == 0 and menu.non_2xx == 0 and menu.requests > 0,
    }


async def _next_message(subscription: Subscription) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        event = await asyncio.wait_for(subscription.get(), TIMEOUT)
        if event.get("type") == "message":
            return event
    raise TimeoutError("no relayed message")


def _directions(timings: tuple[list[float], list[float]]) -> dict[str, Any]:
    return {"to_advocate": _summary(timings[0]), "to_person": _summary(timings[1])}


def _summary(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
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
            # Online for the whole run, as a console page keeps them: otherwise housekeeping
            # returns their chats to the line after ABSENT_GRACE, as it would in life.
            Advocate(
                name=f"relay-advocate-{index}",
                password_hash="-",
                totp_secret_ciphertext=b"-",
                online_until=utcnow() + dt.timedelta(hours=1),
            )
            for index in range(count)
        ]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows if row.id is not None]
