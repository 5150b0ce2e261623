"""The console in real headless Chromium: sign in, claim, chat both ways, hostile text, races."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Dialog,
    Locator,
    Page,
    async_playwright,
    expect,
)
from sqlmodel import select

from bot.console.canned import canned_text, hotline_card
from bot.i18n import catalogue
from bot.models import AuditEvent, Contact, Ticket
from bot.states import TicketStatus
from tests import services
from tests.console.conftest import PASSWORD, Console, Staffer, assert_nothing_stored
from tests.dialogue import Person

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_INSTALLED = CHROMIUM.exists()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    # Debian's chromium (apt-get install chromium): skipped without it, required in CI.
    services.require("Chromium", CHROMIUM_INSTALLED)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


async def signed_in_page(
    browser: Browser,
    console: Console,
    staffer: Staffer,
    *,
    dialogs: list[str] | None = None,
    viewport: tuple[int, int] | None = None,
) -> Page:
    """A signed-in console page; with ``dialogs``, dialogs are accepted and their types kept."""
    size = {"width": viewport[0], "height": viewport[1]} if viewport else None
    context: BrowserContext = await browser.new_context(viewport=size)  # type: ignore[arg-type]
    await context.grant_permissions(["notifications"], origin=console.base_url)
    page = await context.new_page()
    if dialogs is None:
        page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.type}"))
    else:

        async def accept(dialog: Dialog) -> None:
            dialogs.append(dialog.type)
            await dialog.accept()

        page.on("dialog", accept)
    await page.goto(console.base_url + "/console/login")
    await page.get_by_label("Name").fill(staffer.name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Code from your authenticator app").fill(staffer.code(console.clock))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("body[data-connected='1']")).to_be_attached()
    return page


async def ask_for_an_advocate(console: Console, person: Person, greeting: str) -> Ticket:
    await person.send(greeting)
    await person.send(choice="talk")
    await person.send(choice="talk:yes")
    async with console.helpline.sessions() as session:
        contact = await session.get(Contact, await person.alias())
        assert contact is not None and contact.ticket_id is not None
        ticket = await session.get(Ticket, contact.ticket_id)
    assert ticket is not None
    return ticket


async def show_chat(page: Page, alias: str) -> Locator:
    """Open one of your chats from the list; return the conversation shown beside it."""
    await page.get_by_role("button", name=re.compile(f"^Open chat with {alias}")).click()
    chat = page.get_by_role("article", name=f"Chat with {alias}")
    await expect(chat).to_be_visible()
    return chat


async def claim(page: Page, ticket: Ticket) -> None:
    await page.get_by_role("button", name=f"Claim {ticket.public_alias}").click()
    await expect(
        page.get_by_role("article", name=f"Chat with {ticket.public_alias}")
    ).to_be_visible()


async def test_an_advocate_chats_with_a_person_in_spanish_and_closes_with_outcomes(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    ana = await console.add("ana", languages=("en", "es"))
    page = await signed_in_page(browser, console, ana)
    await expect(
        page.get_by_text("it is not stored on the server or in your browser")
    ).to_be_visible()

    person = Person(console.helpline, country="MX", language_code="es")
    ticket = await ask_for_an_advocate(console, person, "hola, necesito ayuda por favor")
    assert ticket.language == "es"
    row = page.locator(f"li[data-alias='{ticket.public_alias}']")
    await expect(row).to_contain_text(ticket.public_alias)
    await expect(row).to_contain_text("Spanish")  # by name, in the console language
    await expect(page.locator("body[data-alerts='1']")).to_be_attached()  # sound + notification

    await claim(page, ticket)
    spanish = catalogue("es")
    await console.phone.wait_for(person.user_id, spanish.text("talk.connected"))
    chat = page.get_by_role("article", name=f"Chat with {ticket.public_alias}")

    person_words = "PERSONCANARY-7f3a me quitaron el pasaporte"
    await person.send(person_words)
    await expect(chat.locator(".line.person")).to_contain_text(person_words)

    advocate_words = "ADVOCATECANARY-91bc estoy aquí para ayudarte"
    await chat.get_by_label("Message").fill(advocate_words)
    await chat.get_by_label("Message").press("Enter")
    assert await console.phone.wait_for(person.user_id, advocate_words) == advocate_words

    await chat.get_by_label("Canned reply").select_option("canned.safe_now")
    safe_now = canned_text("canned.safe_now", "es", "MX", "US")
    await expect(chat.locator(".canned-preview")).to_contain_text(safe_now)
    await chat.get_by_role("button", name="Send canned reply").click()
    assert await console.phone.wait_for(person.user_id, safe_now) == safe_now
    # The advocate sees what they sent in their own language as well.
    await expect(chat.locator(".line.advocate .own")).to_contain_text(
        canned_text("canned.safe_now", "en", "MX", "US")
    )

    card = hotline_card("es", "MX", "US")
    await chat.get_by_role("button", name="Send hotline card").click()
    assert await console.phone.wait_for(person.user_id, card) == card

    await chat.get_by_label("Hotline number given").check()
    await chat.get_by_label("Safety planning").check()
    await chat.get_by_role("button", name="Close chat").click()
    await console.phone.wait_for(person.user_id, spanish.text("talk.closed"))
    await expect(chat).to_contain_text("The chat is closed")

    sent = len(console.phone.texts(person.user_id))
    after_words = "PERSONCANARY-after-close"
    await person.send(after_words)
    await asyncio.sleep(0.3)
    assert len(console.phone.texts(person.user_id)) == sent  # nothing pushed after the close
    await expect(chat.locator(".line.person")).to_have_count(1)
    assert await page.evaluate("localStorage.length + sessionStorage.length") == 0

    async with console.helpline.sessions() as session:
        closed = await session.get(Ticket, ticket.id)
        audit = (await session.exec(select(AuditEvent))).all()
    assert closed is not None and closed.status == TicketStatus.CLOSED
    assert closed.outcomes == "hotline_given,safety_planning"
    assert closed.address_ciphertext is None
    actions = [(event.action, event.ticket_id) for event in audit]
    assert ("claim", ticket.id) in actions and ("close", ticket.id) in actions
    await page.context.close()
    await assert_nothing_stored(
        console, [person_words, advocate_words, after_words, "PERSONCANARY", "ADVOCATECANARY"]
    )


async def test_two_advocates_clicking_claim_together_exactly_one_gets_the_chat(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    ana, bea = await console.add("ana"), await console.add("bea")
    pages = [
        await signed_in_page(browser, console, ana),
        await signed_in_page(browser, console, bea),
    ]
    ticket = await ask_for_an_advocate(console, Person(console.helpline, country="US"), "hello")
    buttons = [p.get_by_role("button", name=f"Claim {ticket.public_alias}") for p in pages]
    for button in buttons:
        await expect(button).to_be_enabled()
    # Both clicks land before either page hears the outcome (a locator click would wait
    # for the loser's button, which disappears once the winner has the chat).
    await asyncio.gather(*(button.evaluate("(b) => b.click()") for button in buttons))
    for _ in range(100):  # the claims go over the pages' sockets: poll briefly for the outcome
        claimed = await claimed_by(console, ticket)
        if claimed is not None:
            break
        await asyncio.sleep(0.05)
    winner, loser = (pages[0], pages[1]) if claimed == ana.id else (pages[1], pages[0])
    await expect(
        winner.get_by_role("article", name=f"Chat with {ticket.public_alias}")
    ).to_be_visible()
    await expect(loser.locator("#problem")).to_contain_text("another advocate took this chat")
    await expect(loser.locator(".chat")).to_have_count(0)


async def claimed_by(console: Console, ticket: Ticket) -> int | None:
    async with console.helpline.sessions() as session:
        found = await session.get(Ticket, ticket.id)
    assert found is not None
    return found.advocate_id


async def test_hostile_text_from_a_person_renders_as_inert_visible_text(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    ana = await console.add("ana")
    page = await signed_in_page(browser, console, ana)
    person = Person(console.helpline, country="US")
    ticket = await ask_for_an_advocate(console, person, "hello")
    await claim(page, ticket)
    chat = page.get_by_role("article", name=f"Chat with {ticket.public_alias}")

    hostile = (
        "<script>window.__pwned = 1; alert(1)</script>"
        '<img src=x onerror="window.__pwned = 2; alert(2)">'
        '<a href="javascript:alert(3)" onmouseover="alert(4)">pay here</a>'
        "\u202eevil.exe\u202c \u2066isolate\u2069 zero\u200bwidth\ufeff \u200f\u061c" + "A" * 10_000
    )
    await person.send(hostile)
    line = chat.locator(".line.person .text")
    await expect(line).to_be_visible()
    shown = await line.text_content()
    assert shown is not None
    assert "<script>window.__pwned = 1; alert(1)</script>" in shown
    assert 'onerror="window.__pwned = 2; alert(2)"' in shown
    assert "\u27e6U+202E\u27e7evil.exe\u27e6U+202C\u27e7" in shown
    assert "zero\u27e6U+200B\u27e7width\u27e6U+FEFF\u27e7" in shown
    assert "\u27e6U+2066\u27e7" in shown and "\u27e6U+061C\u27e7" in shown
    for invisible in "\u202e\u202c\u2066\u2069\u200b\ufeff\u200f\u061c":
        assert invisible not in shown
    # Longer than the console takes at once: the first part arrives, and both sides are told.
    assert "A" * 3_000 in shown and "A" * 4_001 not in shown
    await expect(chat.locator(".line.system").last).to_contain_text("only the first part arrived")
    await console.phone.wait_for(person.user_id, catalogue("en").text("console_person.too_long"))
    assert await page.evaluate("window.__pwned === undefined")
    assert await chat.locator(".log script, .log img, .log a, .log [onerror]").count() == 0
    box = await line.bounding_box()
    assert box is not None and box["height"] < 400  # long text scrolls inside its bubble
    await page.context.close()
    await assert_nothing_stored(console, ["window.__pwned", "evil.exe", "A" * 200])
