"""The live console over real WebSockets: who may read a chat, and what is never lost."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import websockets
from sqlmodel import select

from bot.models import AuditEvent, Contact, Ticket
from tests.console.conftest import Console, Staffer
from tests.console.test_auth import signed_in_cookie
from tests.dialogue import Person


class Page:
    """One console page's socket: every frame it received, in order."""

    def __init__(self, socket: websockets.ClientConnection) -> None:
        self.socket = socket
        self.frames: list[dict[str, Any]] = []
        self._arrived = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                async with self._arrived:
                    self.frames.append(json.loads(raw))
                    self._arrived.notify_all()
        except websockets.ConnectionClosed:
            pass

    async def send(self, **frame: Any) -> None:
        await self.socket.send(json.dumps(frame))

    async def wait_for(self, test: Any, seconds: float = 20) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((f for f in self.frames if test(f)), None)

        async with asyncio.timeout(seconds), self._arrived:
            await self._arrived.wait_for(lambda: found() is not None)
        frame = found()
        assert frame is not None
        return frame

    async def count(self, test: Any, at_least: int, seconds: float = 60) -> None:
        async with asyncio.timeout(seconds), self._arrived:
            await self._arrived.wait_for(lambda: sum(1 for f in self.frames if test(f)) >= at_least)

    def messages(self) -> list[str]:
        return [f["text"] for f in self.frames if f["type"] == "message"]

    def ref_of(self, alias: str) -> Any:
        for frame in reversed(self.frames):
            if frame["type"] == "queue":
                for ticket in frame["tickets"]:
                    if ticket["alias"] == alias:
                        return ticket["id"]
        raise AssertionError("ticket not in the queue frame")


@asynccontextmanager
async def open_page(console: Console, staffer: Staffer) -> AsyncIterator[Page]:
    cookie = f"helpline_console={await signed_in_cookie(console, staffer)}"
    async with httpx.AsyncClient(base_url=console.base_url, headers={"Cookie": cookie}) as client:
        html = (await client.get("/console")).text
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found is not None
    async with websockets.connect(
        console.ws_url,
        origin=websockets.Origin(console.origin),
        additional_headers={"Cookie": cookie},
        max_size=None,
    ) as socket:
        page = Page(socket)
        await page.send(type="hello", csrf=found.group(1))
        await page.wait_for(lambda f: f["type"] == "queue")
        yield page
        page._reader.cancel()


async def waiting_person(console: Console) -> tuple[Person, Ticket]:
    person = Person(console.helpline, country="US")
    await person.send("hello")
    await person.send(choice="talk")
    await person.send(choice="talk:yes")
    async with console.helpline.sessions() as session:
        contact = await session.get(Contact, await person.alias())
        assert contact is not None and contact.ticket_id is not None
        ticket = await session.get(Ticket, contact.ticket_id)
    assert ticket is not None
    return person, ticket


async def claimed(page: Page, ticket: Ticket) -> Any:
    await page.wait_for(
        lambda f: (
            f["type"] == "queue" and any(t["alias"] == ticket.public_alias for t in f["tickets"])
        )
    )
    ref = page.ref_of(ticket.public_alias)
    await page.send(type="claim", ticket=ref)
    await page.wait_for(lambda f: f["type"] == "opened" and f["ticket"]["id"] == ref)
    return ref


async def test_nobody_but_the_advocate_holding_a_chat_reads_it_across_1000_claims(
    sqlite_console: Console,
) -> None:
    console = sqlite_console
    ana, bea = await console.add("ana"), await console.add("bea")
    _, ticket = await waiting_person(console)
    tries = 1000
    async with open_page(console, ana) as ana_page, open_page(console, bea) as bea_page:
        # Bea saw the ticket while it waited, so she holds a valid reference to it.
        await bea_page.wait_for(
            lambda f: (
                f["type"] == "queue"
                and any(t["alias"] == ticket.public_alias for t in f["tickets"])
            )
        )
        bea_ref = bea_page.ref_of(ticket.public_alias)
        await claimed(ana_page, ticket)
        assert ticket.id is not None
        for i in range(tries):
            # Bea tries to take the chat at the very moment the person writes.
            await bea_page.send(type="claim", ticket=bea_ref)
            for _ in range(i % 4):
                await asyncio.sleep(0)
            await console.helpline.queue.relay_from_person(ticket, f"canary-{i}")
        await ana_page.count(lambda f: f["type"] == "message", tries)
        await bea_page.count(lambda f: f["type"] == "error", tries)
        await asyncio.sleep(0.2)  # let any late relay event reach Bea's socket before counting
    assert sorted(ana_page.messages()) == sorted(f"canary-{i}" for i in range(tries))
    assert bea_page.messages() == []
    assert not any("canary" in json.dumps(frame) for frame in bea_page.frames)
    async with console.helpline.sessions() as session:
        failed = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "claim_failed"))
        ).all()
    assert len(failed) == tries
    assert {(e.advocate_id, e.ticket_id, e.detail) for e in failed} == {(bea.id, ticket.id, "")}


async def test_a_walked_ticket_id_opens_nothing(sqlite_console: Console) -> None:
    console = sqlite_console
    ana, bea = await console.add("ana"), await console.add("bea")
    _, ticket = await waiting_person(console)
    async with open_page(console, ana) as ana_page, open_page(console, bea) as bea_page:
        await claimed(ana_page, ticket)
        assert ticket.id is not None
        for guess in [
            ticket.id,
            str(ticket.id),
            f"t{ticket.id}",
            ana_page.ref_of(ticket.public_alias),
        ]:
            await bea_page.send(type="claim", ticket=guess)
        await console.helpline.queue.relay_from_person(ticket, "walked-canary")
        await ana_page.wait_for(lambda f: f["type"] == "message")
        errors = [f for f in bea_page.frames if f["type"] == "error"]
    # Refs are per advocate: Ana's reference means nothing on Bea's socket.
    assert all(f["message"] == "no such chat" for f in errors)
    assert not any("walked-canary" in json.dumps(f) for f in bea_page.frames)
    refs = {t["id"] for f in ana_page.frames if f["type"] == "queue" for t in f["tickets"]}
    assert all(isinstance(ref, str) and str(ticket.id) != ref for ref in refs)
