"""The live console over real WebSockets: who may read a chat, and what is never lost."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlmodel import select

from bot.accounts import mark_online
from bot.db import transaction
from bot.i18n import catalogue
from bot.models import Advocate, AuditEvent, Contact, Ticket
from bot.queue import ABSENT_GRACE, TicketError
from bot.states import Role, TicketStatus
from tests.conftest import METRICS_HEADERS, FrozenClock
from tests.console.conftest import Console, Staffer, start_console
from tests.console.test_auth import csrf_in, signed_in_cookie
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


_signed_in: dict[tuple[int, str], str] = {}


@asynccontextmanager
async def open_page(console: Console, staffer: Staffer) -> AsyncIterator[Page]:
    """A console page; a second page of the same advocate reuses the session (a reload)."""
    key = (id(console), staffer.name)
    if key not in _signed_in:
        _signed_in[key] = f"helpline_console={await signed_in_cookie(console, staffer)}"
    cookie = _signed_in[key]
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


async def test_what_a_person_writes_while_the_page_reconnects_arrives_once_it_is_back(
    sqlite_console: Console,
) -> None:
    console = sqlite_console
    ana = await console.add("ana")
    _, ticket = await waiting_person(console)
    assert ticket.id is not None
    async with open_page(console, ana) as page:
        await claimed(page, ticket)
    # The page is gone (a reload, a dropped link): the person keeps writing.
    await console.helpline.queue.relay_from_person(ticket, "while-you-were-away")
    async with open_page(console, ana) as page:
        frame = await page.wait_for(lambda f: f["type"] == "message")
        assert frame["text"] == "while-you-were-away"
        assert console.helpline.queue.holding(ticket.id) == 1  # held until the page has it
        await page.send(type="got", ticket=frame["ticket"], id=frame["id"])
        async with asyncio.timeout(10):
            while console.helpline.queue.holding(ticket.id):  # noqa: ASYNC110 (no event to await)
                await asyncio.sleep(0.01)
    # The page acknowledged it: a third page does not get it again.
    async with open_page(console, ana) as page:
        await page.wait_for(lambda f: f["type"] == "opened")
        await console.helpline.queue.relay_from_person(ticket, "next")
        await page.wait_for(lambda f: f["type"] == "message")
        assert page.messages() == ["next"]


async def test_a_message_no_page_took_in_time_is_announced_to_both_sides(
    sqlite_console: Console,
) -> None:
    console = sqlite_console
    console.helpline.queue.hold_seconds = 0.2
    ana = await console.add("ana")
    person, ticket = await waiting_person(console)
    async with open_page(console, ana) as page:
        await claimed(page, ticket)
    await console.helpline.queue.relay_from_person(ticket, "lost-in-the-gap")
    told = catalogue("en").text("console_person.not_received")
    await console.phone.wait_for(person.user_id, told)
    async with open_page(console, ana) as page:
        frame = await page.wait_for(lambda f: f["type"] == "missed")
        assert frame["count"] == 1
        assert "lost-in-the-gap" not in json.dumps(page.frames)


async def test_a_lone_surrogate_does_not_stop_the_feed(sqlite_console: Console) -> None:
    console = sqlite_console
    ana = await console.add("ana")
    _, ticket = await waiting_person(console)
    async with open_page(console, ana) as page:
        await claimed(page, ticket)
        await console.helpline.queue.relay_from_person(ticket, "broken \ud800 here")
        await console.helpline.queue.relay_from_person(ticket, "still flowing")
        await page.count(lambda f: f["type"] == "message", 2)
    assert page.messages() == ["broken \ufffd here", "still flowing"]


async def test_a_deactivated_advocates_chat_goes_to_the_front_and_the_person_is_told(
    sqlite_console: Console,
) -> None:
    console = sqlite_console
    admin = await console.add("root", role=Role.ADMIN)
    ana = await console.add("ana")
    person, ticket = await waiting_person(console)
    async with open_page(console, ana) as page:
        await claimed(page, ticket)
        newcomer, _ = await waiting_person(console)
        cookie = f"helpline_console={await signed_in_cookie(console, admin)}"
        async with httpx.AsyncClient(
            base_url=console.base_url, headers={"Cookie": cookie}
        ) as client:
            csrf = csrf_in((await client.get("/console/admin")).text)
            answer = await client.post(
                f"/console/admin/advocates/{ana.id}/deactivate", data={"csrf": csrf}
            )
            assert answer.status_code == 303
        ended = await page.wait_for(lambda f: f["type"] == "ended")
        assert ended["reason"] == "requeued"
    await console.phone.wait_for(person.user_id, catalogue("en").text("console_person.requeued"))
    entries = await console.helpline.queue.entries()
    assert [e.id for e in entries][:2] == [ticket.id, (await ticket_of(console, newcomer)).id]
    assert entries[0].status == TicketStatus.WAITING


async def test_a_closed_tab_returns_the_chat_once_the_advocate_has_been_away_a_while(
    sqlite_console: Console,
) -> None:
    console = sqlite_console
    ana = await console.add("ana")
    person, ticket = await waiting_person(console)
    async with open_page(console, ana) as page:
        await claimed(page, ticket)
    await page_gone(console, ana)
    # Just gone (a reload takes seconds): the chat stays with Ana.
    assert await console.helpline.queue.return_orphans(console.clock()) == 0
    console.clock.advance(seconds=ABSENT_GRACE.total_seconds() + 1)
    assert await console.helpline.queue.return_orphans(console.clock()) == 1
    await console.phone.wait_for(person.user_id, catalogue("en").text("console_person.requeued"))
    assert (await console.helpline.queue.entries())[0].status == TicketStatus.WAITING


async def test_a_transfer_goes_only_to_someone_online_who_speaks_the_language_and_has_room(
    sqlite_console: Console,
) -> None:
    console = sqlite_console
    queue = console.helpline.queue
    ana = await console.add("ana")
    bea = await console.add("bea", languages=("es",))
    cai = await console.add("cai")
    person, ticket = await waiting_person(console)
    assert ticket.id is not None
    await queue.claim(ticket_id=ticket.id, advocate_id=ana.id)
    soon = console.clock() + dt.timedelta(minutes=1)
    with pytest.raises(TicketError, match="not online"):
        await queue.transfer(ticket_id=ticket.id, advocate_id=ana.id, to_advocate=cai.id)
    for staffer in (bea, cai):
        await mark_online(console.helpline.sessions, staffer.id, soon)
    with pytest.raises(TicketError, match="does not speak"):
        await queue.transfer(ticket_id=ticket.id, advocate_id=ana.id, to_advocate=bea.id)
    await set_max_chats(console, cai.id, 1)
    _, other = await waiting_person(console)
    assert other.id is not None
    await queue.claim(ticket_id=other.id, advocate_id=cai.id)
    with pytest.raises(TicketError, match="as many chats"):
        await queue.transfer(ticket_id=ticket.id, advocate_id=ana.id, to_advocate=cai.id)
    await set_max_chats(console, cai.id, 2)
    await queue.transfer(ticket_id=ticket.id, advocate_id=ana.id, to_advocate=cai.id)
    assert await queue.holder(ticket.id) == cai.id
    await console.phone.wait_for(person.user_id, catalogue("en").text("console_person.transferred"))


async def test_metrics_need_the_bearer_token(sqlite_console: Console) -> None:
    async with httpx.AsyncClient(base_url=sqlite_console.base_url) as client:
        assert (await client.get("/metrics")).status_code == 404
        wrong = {"Authorization": "Bearer not-it"}
        assert (await client.get("/metrics", headers=wrong)).status_code == 404
        scraped = await client.get("/metrics", headers=METRICS_HEADERS)
        assert scraped.status_code == 200 and "helpline_queue_waiting" in scraped.text


async def test_without_a_metrics_token_metrics_are_not_served(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/h.db"
    async for console in start_console(url, FrozenClock(), HELPLINE_METRICS_TOKEN=None):
        async with httpx.AsyncClient(base_url=console.base_url) as client:
            answer = await client.get("/metrics", headers=METRICS_HEADERS)
            assert answer.status_code == 404


async def page_gone(console: Console, staffer: Staffer) -> None:
    """Wait until the server has seen the advocate's page close (presence ends now)."""
    async with asyncio.timeout(10):
        while True:
            async with console.helpline.sessions() as session:
                advocate = await session.get(Advocate, staffer.id)
            assert advocate is not None and advocate.online_until is not None
            until = advocate.online_until.replace(tzinfo=dt.UTC)
            if until <= console.clock():
                return
            await asyncio.sleep(0.02)


async def ticket_of(console: Console, person: Person) -> Ticket:
    async with console.helpline.sessions() as session:
        contact = await session.get(Contact, await person.alias())
        assert contact is not None and contact.ticket_id is not None
        ticket = await session.get(Ticket, contact.ticket_id)
    assert ticket is not None
    return ticket


async def set_max_chats(console: Console, advocate_id: int, most: int) -> None:
    async with transaction(console.helpline.sessions) as session:
        advocate = await session.get(Advocate, advocate_id)
        assert advocate is not None
        advocate.max_chats = most
        session.add(advocate)
