"""The console's directory search: an advocate finds services and sends a card in the person's language."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from playwright.async_api import Browser, expect
from sqlmodel import select

from bot.directory import Need, ServiceCard, render_card, search
from bot.directory.importer import ensure_sample_loaded
from bot.i18n import catalogue
from bot.models import AuditEvent, Ticket
from tests.console.conftest import Console, Staffer, assert_nothing_stored
from tests.console.test_auth import signed_in_cookie
from tests.console.test_browser import ask_for_an_advocate, browser, claim, signed_in_page
from tests.dialogue import Person

__all__ = ["browser"]

TYPED_PLACE = "Nueva York"
"""A city in the person's language: resolved offline to New York City, never kept."""
UNKNOWN_PLACE = "PLACECANARY Qwertyville"


async def expected_first_card(console: Console, ticket: Ticket) -> tuple[ServiceCard, str]:
    """The first Spanish-speaking shelter for the typed place, and its card in Spanish."""
    cards = await search(
        console.helpline.sessions,
        place_text=TYPED_PLACE,
        need=Need.SHELTER,
        language=ticket.language,
        now=console.helpline.clock(),
        limit=5,
        country=ticket.country,
    )
    assert cards, "the sample directory has Spanish-speaking shelters in New York"
    return cards[0], render_card(cards[0], catalogue("es"), ticket.channel)


async def directory_cards_audited(console: Console) -> list[tuple[int | None, str]]:
    async with console.helpline.sessions() as session:
        events = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "directory_card"))
        ).all()
    return [(event.ticket_id, event.detail) for event in events]


async def wait_for_audit(console: Console, expected: list[tuple[int | None, str]]) -> None:
    """The page's click reaches the server over its socket: give the audit row a moment."""
    for _ in range(100):
        if await directory_cards_audited(console) == expected:
            return
        await asyncio.sleep(0.05)
    assert await directory_cards_audited(console) == expected


@pytest.mark.browser
async def test_an_advocate_finds_a_shelter_and_sends_its_card_in_the_persons_language(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    await ensure_sample_loaded(console.helpline.sessions)
    ana = await console.add("ana", languages=("en", "es"))
    page = await signed_in_page(browser, console, ana)
    person = Person(console.helpline, country="MX", language_code="es")
    ticket = await ask_for_an_advocate(console, person, "hola")
    assert ticket.language == "es"
    await claim(page, ticket)
    await console.phone.wait_for(person.user_id, catalogue("es").text("talk.connected"))
    chat = page.get_by_role("article", name=f"Chat with {ticket.public_alias}")
    first, card = await expected_first_card(console, ticket)

    # Need labels come from the referrals catalogue in the advocate's first language.
    await chat.get_by_label("Kind of help").select_option(label="Shelter")
    await chat.get_by_label("ZIP code or city").fill(TYPED_PLACE)
    await chat.get_by_role("button", name="Search").click()
    results = chat.locator(".directory-results li")
    await expect(results.first).to_be_visible()
    assert 1 <= await results.count() <= 5
    await expect(results.first.locator("strong")).to_have_text(first.name)
    await expect(results.first).to_contain_text("km")
    await expect(results.first).to_contain_text("Spanish")

    before = len(console.phone.texts(person.user_id))
    await results.first.get_by_role("button", name="Send to person").click()
    assert await console.phone.wait_for(person.user_id, card) == card
    assert console.phone.texts(person.user_id)[before:] == [card]  # exactly the card, once
    # The transcript shows what the person received, as for canned replies.
    sent = chat.locator(".line.advocate").last
    await expect(sent.locator(".text")).to_have_text(card)
    await expect(sent).to_contain_text("You (service card)")
    await wait_for_audit(console, [(ticket.id, "")])

    # An unknown place: a form error, no results, nothing sent, the text not echoed back.
    await chat.get_by_label("ZIP code or city").fill(UNKNOWN_PLACE)
    await chat.get_by_role("button", name="Search").click()
    await expect(chat.locator(".directory-error")).to_contain_text("Place not recognised")
    await expect(chat.locator(".directory-error")).not_to_contain_text("Qwertyville")
    await expect(results).to_have_count(0)
    assert len(console.phone.texts(person.user_id)) == before + 1
    assert await directory_cards_audited(console) == [(ticket.id, "")]

    await page.context.close()
    await assert_nothing_stored(console, [TYPED_PLACE, "Qwertyville", "PLACECANARY"])


class Socket:
    """One signed-in console page, spoken to over its WebSocket as the page's script does."""

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection
        self.refs: dict[str, str] = {}
        """This page's opaque reference for each ticket it was shown, by alias."""

    async def send(self, **message: Any) -> None:
        await self.connection.send(json.dumps(message))

    async def next(self, kind: str) -> dict[str, Any]:
        """Skip queue snapshots and other frames until one of ``kind`` arrives."""
        while True:
            frame: dict[str, Any] = json.loads(await self.connection.recv())
            if frame["type"] == "queue":
                self.refs |= {t["alias"]: t["id"] for t in frame["tickets"]}
            if frame["type"] == kind:
                return frame

    async def ref(self, ticket: Ticket) -> str:
        while ticket.public_alias not in self.refs:
            await self.next("queue")
        return self.refs[ticket.public_alias]


@contextlib.asynccontextmanager
async def open_socket(console: Console, staffer: Staffer) -> AsyncIterator[Socket]:
    cookie = f"helpline_console={await signed_in_cookie(console, staffer)}"
    async with httpx.AsyncClient(base_url=console.base_url, headers={"Cookie": cookie}) as client:
        page = (await client.get("/console")).text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert csrf is not None
    async with websockets.connect(
        console.ws_url,
        origin=websockets.Origin(console.origin),
        additional_headers={"Cookie": cookie},
    ) as connection:
        socket = Socket(connection)
        await socket.send(type="hello", csrf=csrf.group(1))
        yield socket


async def claimed_chat(
    console: Console, socket: Socket, greeting: str, *, seen_by: Socket | None = None
) -> tuple[Person, Ticket, str]:
    """A person the socket's advocate claimed; the third value is the chat's reference there."""
    person = Person(console.helpline, country="MX", language_code="es")
    ticket = await ask_for_an_advocate(console, person, greeting)
    if seen_by is not None:
        await seen_by.ref(ticket)  # the other page saw it while it waited
    ref = await socket.ref(ticket)
    await socket.send(type="claim", ticket=ref)
    opened = await socket.next("opened")
    assert opened["ticket"]["id"] == ref
    return person, ticket, ref


async def test_an_advocate_cannot_search_for_or_send_a_card_into_another_advocates_chat(
    console: Console,
) -> None:
    await ensure_sample_loaded(console.helpline.sessions)
    ana, bea = await console.add("ana", languages=("es",)), await console.add("bea")
    async with open_socket(console, ana) as ana_socket, open_socket(console, bea) as bea_socket:
        anas_person, _, anas_ref = await claimed_chat(
            console, ana_socket, "hola", seen_by=bea_socket
        )
        beas_person, beas_ticket, beas_ref = await claimed_chat(console, bea_socket, "hola")
        # Bea's own reference to Ana's chat, from when it waited in the line.
        anas_ticket_for_bea = bea_socket.refs[
            next(a for a, r in bea_socket.refs.items() if r != beas_ref)
        ]

        # Bea's own search works, for her own chat.
        await bea_socket.send(
            type="directory_search", ticket=beas_ref, need="shelter", place="10001"
        )
        found = await bea_socket.next("directory")
        assert found["ticket"] == beas_ref and found["results"]
        service = found["results"][0]["service"]

        # Neither searching for Ana's chat nor sending into it is allowed.
        await bea_socket.send(
            type="directory_search", ticket=anas_ticket_for_bea, need="shelter", place="10001"
        )
        refused = await bea_socket.next("error")
        assert refused["ticket"] == anas_ticket_for_bea
        await bea_socket.send(
            type="directory_card", ticket=anas_ticket_for_bea, service=service, ref=1
        )
        refused = await bea_socket.next("error")
        assert (refused["ticket"], refused["ref"]) == (anas_ticket_for_bea, 1)

        # Ana cannot send a service she never searched for (Bea's result) either.
        await ana_socket.send(type="directory_card", ticket=anas_ref, service=service, ref=2)
        assert (await ana_socket.next("error"))["ref"] == 2

        # Bea's card does reach her own person, in Spanish.
        await bea_socket.send(type="directory_card", ticket=beas_ref, service=service, ref=3)
        sent = await bea_socket.next("sent")
        assert (sent["ref"], sent["ok"]) == (3, True)
        assert found["results"][0]["person"] in console.phone.texts(beas_person.user_id)
    assert not any("SAMPLE" in text for text in console.phone.texts(anas_person.user_id))
    assert await directory_cards_audited(console) == [(beas_ticket.id, "")]


async def test_an_unknown_place_is_a_form_error_that_sends_nothing(console: Console) -> None:
    await ensure_sample_loaded(console.helpline.sessions)
    ana = await console.add("ana", languages=("es",))
    async with open_socket(console, ana) as socket:
        person, _, ref = await claimed_chat(console, socket, "hola")
        received = len(console.phone.texts(person.user_id))
        await socket.send(type="directory_search", ticket=ref, need="legal", place=UNKNOWN_PLACE)
        answer = await socket.next("directory")
        assert answer["results"] == [] and "not recognised" in answer["error"]
        assert "Qwertyville" not in json.dumps(answer)
        # With no results on the page there is nothing to send.
        await socket.send(type="directory_card", ticket=ref, service="svc-ny-legal", ref=1)
        assert (await socket.next("error"))["ref"] == 1
    assert len(console.phone.texts(person.user_id)) == received
    assert await directory_cards_audited(console) == []
    await assert_nothing_stored(console, ["Qwertyville", "PLACECANARY"])
