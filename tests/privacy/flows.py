"""Scripted conversations for the canary suite: the engine path, the simulator, live chat."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlmodel import select
from websockets.asyncio.client import ClientConnection, connect

from bot.helpline import Helpline
from bot.i18n import catalogue
from bot.models import Ticket
from bot.relay import Subscription, ticket_topic
from bot.states import TicketStatus
from bot.types import Channel
from tests.dialogue import Person
from tests.privacy.canaries import Canaries, RecordingSender

TIMEOUT = 10.0


async def waiting_ticket(helpline: Helpline) -> int:
    """The one ticket waiting in line (conversations run one at a time)."""
    async with helpline.sessions() as session:
        rows = (
            await session.exec(select(Ticket).where(Ticket.status == TicketStatus.WAITING))
        ).all()
    assert len(rows) == 1, "expected exactly one person waiting"
    assert rows[0].id is not None
    return rows[0].id


async def _next_message(events: Subscription) -> dict[str, Any]:
    while True:
        event = await events.get()
        if event.get("type") == "message":
            return event


async def live_chat(
    helpline: Helpline,
    *,
    ticket_id: int,
    advocate_id: int,
    person_writes: Callable[[str], Awaitable[object]],
    said: str,
    reply: str,
    after_reply: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """An advocate claims, the person writes, the advocate answers, then closes."""
    async with helpline.relay.subscribe(ticket_topic(ticket_id)) as events:
        await asyncio.sleep(0.05)  # a Redis subscription is confirmed asynchronously
        await helpline.queue.claim(ticket_id=ticket_id, advocate_id=advocate_id)
        await person_writes(said)
        event = await asyncio.wait_for(_next_message(events), TIMEOUT)
        assert event["text"] == said, "the advocate must see what the person wrote"
        assert await helpline.queue.send_to_person(
            ticket_id=ticket_id, advocate_id=advocate_id, text=reply
        )
        if after_reply is not None:
            await after_reply()
    await helpline.queue.close(
        ticket_id=ticket_id, advocate_id=advocate_id, outcomes=["referral_legal"]
    )


async def engine_conversation(
    helpline: Helpline,
    canaries: Canaries,
    carrier: RecordingSender,
    *,
    language: str,
    channel: Channel,
    advocate_id: int,
) -> None:
    """A person on ``channel`` talks to the bot, waits, chats with an advocate, then leaves."""
    user_id = canaries.phone() if channel is Channel.SMS else canaries.chat_id()
    person = Person(
        helpline,
        channel=channel,
        user_id=user_id,
        country="US",
        language_code=language if channel is Channel.TELEGRAM else None,
    )
    await person.send(canaries.say(language, 0))
    await person.send("1")
    await person.send(f"help me now {canaries.token()}")
    await person.send(choice="talk")
    await person.send(choice="talk:yes")
    await person.send(canaries.say(language, 1))  # written while waiting: not passed on
    reply = f"{canaries.token()} ok, I hear you"
    await live_chat(
        helpline,
        ticket_id=await waiting_ticket(helpline),
        advocate_id=advocate_id,
        person_writes=person.send,
        said=canaries.say(language, 2),
        reply=reply,
    )
    assert reply in carrier.to(user_id), "the advocate's words must reach the person"
    words = catalogue(language)
    leave = "keywords.forget" if channel is Channel.SMS else "keywords.exit"
    await person.send(words.first_word(leave))


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[int]:
    """Run ``app`` under a real uvicorn on a free loopback port, as ``helpline serve`` does."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_config=None, access_log=False, ws="websockets-sansio", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(TIMEOUT):
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                await asyncio.sleep(0.02)
        yield port
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _until(
    phone: ClientConnection, wanted: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT):
        while True:
            message = json.loads(await phone.recv())
            if wanted(message):
                return dict(message)


def _texts(message: dict[str, Any]) -> list[str]:
    return [reply["text"] for reply in message.get("replies", [])]


async def simulator_conversation(
    helpline: Helpline, canaries: Canaries, *, port: int, language: str, advocate_id: int
) -> None:
    """The same conversation through the web simulator's WebSocket."""
    async with connect(f"ws://127.0.0.1:{port}/simulator/ws") as phone:

        async def write(text: str = "", choice: str | None = None) -> dict[str, Any]:
            payload = {
                "text": text,
                "choice": choice,
                "style": "telegram",
                "language_code": language,
            }
            await phone.send(json.dumps(payload))
            return await _until(phone, lambda m: not m.get("pushed"))

        await write(canaries.say(language, 0))
        await write(choice="talk")
        joined = await write(choice="talk:yes")
        assert joined["replies"], "joining the line must be acknowledged"
        await write(canaries.say(language, 1))
        reply = f"{canaries.token()} I am here"

        async def reply_arrives() -> None:
            await _until(phone, lambda m: bool(m.get("pushed")) and reply in _texts(m))

        await live_chat(
            helpline,
            ticket_id=await waiting_ticket(helpline),
            advocate_id=advocate_id,
            person_writes=lambda text: write(text),
            said=canaries.say(language, 2),
            reply=reply,
            after_reply=reply_arrives,
        )
        await write(catalogue(language).first_word("keywords.forget"))


def _quick_limits() -> Any:
    from bot.channels.telegram_sender import SendLimits

    return SendLimits(per_chat=200.0, chat_burst=20, overall=500.0, overall_burst=50)


QUICK_TELEGRAM_LIMITS = _quick_limits()
"""Pacing is not what these tests are about: let the bot talk fast to the fake."""
