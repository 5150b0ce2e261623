"""The inbox in real Chromium: layout, shortcuts, reclaim, transfer with notes, small defects."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from bot.accounts import mark_online
from bot.console.canned import hotline_card
from bot.db import transaction
from bot.i18n import catalogue
from bot.models import Ticket
from tests.conftest import FrozenClock
from tests.console.conftest import Console, assert_nothing_stored, start_console
from tests.console.test_browser import (
    ask_for_an_advocate,
    browser,
    claim,
    show_chat,
    signed_in_page,
)
from tests.dialogue import Person

pytestmark = pytest.mark.browser
__all__ = ["browser"]

DOCS = Path(__file__).resolve().parents[2] / "docs"
SCREENSHOTS = os.environ.get("HELPLINE_SCREENSHOTS") == "1"
"""Set to 1 to refresh the screenshots in docs/console.md from this test."""


async def three_chats_and_a_line(console: Console, page: Page) -> list[Ticket]:
    """Claim three people (English, Spanish, Arabic) and leave two waiting."""
    people = [
        (Person(console.helpline, country="US"), "hello, I need help"),
        (Person(console.helpline, country="MX", language_code="es"), "hola, necesito ayuda"),
        (Person(console.helpline, country="US", language_code="ar"), "مرحبا، أحتاج مساعدة"),
    ]
    tickets = []
    for person, greeting in people:
        ticket = await ask_for_an_advocate(console, person, greeting)
        await claim(page, ticket)
        await person.send(greeting + " — " + "words " * 30)
        tickets.append(ticket)
    for country in ("US", "CA"):
        await ask_for_an_advocate(console, Person(console.helpline, country=country), "hi")
    await expect(page.locator("#queue li")).to_have_count(2)
    return tickets


@pytest.mark.parametrize("width", [390, 1366, 1920])
async def test_three_chats_fit_the_screen_from_a_phone_to_a_wide_monitor(
    sqlite_console: Console, browser: Browser, width: int
) -> None:
    console = sqlite_console
    ana = await console.add("ana", languages=("en", "es", "ar"))
    page = await signed_in_page(browser, console, ana, viewport=(width, 900))
    tickets = await three_chats_and_a_line(console, page)
    chat = await show_chat(page, tickets[0].public_alias)
    await chat.get_by_label("Canned reply").select_option("canned.safe_now")
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0
    # Every control is on screen horizontally: the claim buttons, the selects, the send button.
    for control in await page.locator(
        "#queue .claim, .chat:not([hidden]) select, .chat:not([hidden]) button"
    ).all():
        box = await control.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    if width >= 1366:
        # The list sits beside the conversation, not above it.
        listed = await page.locator(".list").bounding_box()
        shown = await chat.bounding_box()
        assert listed is not None and shown is not None
        assert shown["x"] >= listed["x"] + listed["width"]
    if SCREENSHOTS and width in (390, 1366):
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=DOCS / f"console-inbox-{width}.png", full_page=width == 390)
    await page.context.close()


async def test_a_chat_you_held_before_comes_back_alive_with_its_transcript(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    ana = await console.add("ana")
    page = await signed_in_page(browser, console, ana)
    person = Person(console.helpline, country="US")
    ticket = await ask_for_an_advocate(console, person, "hello")
    await claim(page, ticket)
    chat = await show_chat(page, ticket.public_alias)
    await person.send("first words")
    await expect(chat.locator(".line.person")).to_contain_text("first words")
    await chat.get_by_role("button", name="Transfer").click()  # back to the queue
    await expect(chat).to_contain_text("went back to the front of the queue")
    await console.phone.wait_for(person.user_id, catalogue("en").text("console_person.requeued"))

    await claim(page, ticket)
    chat = await show_chat(page, ticket.public_alias)
    await expect(chat).to_contain_text("This chat is yours again")
    await expect(chat.locator(".line.person")).to_contain_text("first words")
    await expect(chat.get_by_label("Message")).to_be_enabled()
    await person.send("second words")
    await expect(chat.locator(".line.person").last).to_contain_text("second words")
    await chat.get_by_label("Message").fill("answer after reclaim")
    await chat.get_by_label("Message").press("Enter")
    await console.phone.wait_for(person.user_id, "answer after reclaim")
    await page.context.close()


async def test_a_transfer_hands_the_transcript_and_notes_to_the_next_page_only(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    ana, bea = await console.add("ana"), await console.add("bea")
    anas, beas = (
        await signed_in_page(browser, console, ana),
        await signed_in_page(browser, console, bea),
    )
    person = Person(console.helpline, country="US")
    ticket = await ask_for_an_advocate(console, person, "hello")
    await claim(anas, ticket)
    chat = await show_chat(anas, ticket.public_alias)
    await person.send("HANDOVERCANARY my boss took my papers")
    await expect(chat.locator(".line.person")).to_contain_text("HANDOVERCANARY")
    await chat.get_by_label("Private notes").fill("NOTECANARY asked about papers")
    await chat.get_by_label("Transfer to").select_option(str(bea.id))
    await chat.get_by_role("button", name="Transfer").click()
    await expect(chat).to_contain_text("The chat was transferred")

    handed = await show_chat(beas, ticket.public_alias)
    await expect(handed.locator(".line.earlier")).to_contain_text("HANDOVERCANARY")
    await expect(handed.get_by_label("Private notes")).to_have_value(
        re.compile("NOTECANARY asked about papers")
    )
    await console.phone.wait_for(person.user_id, catalogue("en").text("console_person.transferred"))
    await person.send("after the transfer")
    await expect(handed.locator(".line.person")).to_contain_text("after the transfer")
    await expect(chat.locator(".line.person")).not_to_contain_text("after the transfer")
    for page in (anas, beas):
        await page.context.close()
    await assert_nothing_stored(console, ["HANDOVERCANARY", "NOTECANARY"])


async def test_keyboard_shortcuts_claim_switch_and_guard_the_close(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    ana = await console.add("ana")
    page = await signed_in_page(browser, console, ana)
    first = await ask_for_an_advocate(console, Person(console.helpline, country="US"), "hi")
    second = await ask_for_an_advocate(console, Person(console.helpline, country="US"), "hey")
    await expect(page.locator("#queue li")).to_have_count(2)
    await page.keyboard.press("Alt+c")
    await expect(
        page.get_by_role("article", name=f"Chat with {first.public_alias}")
    ).to_be_visible()
    await page.keyboard.press("Alt+c")
    await expect(
        page.get_by_role("article", name=f"Chat with {second.public_alias}")
    ).to_be_visible()
    await page.keyboard.press("Alt+n")
    await expect(
        page.get_by_role("article", name=f"Chat with {first.public_alias}")
    ).to_be_visible()
    await expect(page.locator("#chat-list [aria-current='true']")).to_contain_text(
        first.public_alias
    )
    await page.keyboard.press("Alt+x")  # no outcome chosen: nothing is closed
    await expect(page.locator("#announcer")).to_contain_text("Choose at least one outcome")
    await page.context.close()


async def test_closing_keeps_focus_and_reloading_warns_first(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    ana = await console.add("ana")
    dialogs: list[str] = []
    page = await signed_in_page(browser, console, ana, dialogs=dialogs)
    person = Person(console.helpline, country="US")
    ticket = await ask_for_an_advocate(console, person, "hello")
    await claim(page, ticket)
    chat = await show_chat(page, ticket.public_alias)
    await person.send("a word before the reload")
    await expect(chat.locator(".line.person")).to_be_visible()
    await page.reload()
    assert dialogs == ["beforeunload"]

    other = await ask_for_an_advocate(console, Person(console.helpline, country="US"), "hi")
    await claim(page, other)
    chat = await show_chat(page, other.public_alias)
    await chat.get_by_label("No response").check()
    await chat.get_by_role("button", name="Close chat").click()
    await expect(chat).to_contain_text("The chat is closed")
    focused = page.locator(":focus")
    await expect(focused).to_have_text("Remove this transcript from the page")
    await page.context.close()


async def test_right_to_left_cards_are_not_flagged_and_the_advocates_copy_is_shown(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    ana = await console.add("ana", languages=("en", "ar"))
    page = await signed_in_page(browser, console, ana)
    person = Person(console.helpline, country="US", language_code="ar")
    ticket = await ask_for_an_advocate(console, person, "مرحبا")
    assert ticket.language == "ar"
    await claim(page, ticket)
    chat = await show_chat(page, ticket.public_alias)
    await chat.get_by_role("button", name="Send hotline card").click()
    card = hotline_card("ar", "US", "US")
    await console.phone.wait_for(person.user_id, card[:20])
    sent = chat.locator(".line.advocate").last
    shown = await sent.locator(".text").text_content()
    assert shown == card and "\u27e6" not in shown
    await expect(sent.locator(".own")).to_contain_text(hotline_card("en", "US", "US")[:30])

    await person.send("family 👨\u200d👩\u200d👧 and a\u200dz")
    line = chat.locator(".line.person .text").last
    await expect(line).to_contain_text("👨\u200d👩\u200d👧")
    await expect(line).to_contain_text("a\u27e6U+200D\u27e7z")
    await page.context.close()


async def test_a_reply_over_the_limit_is_not_sent_and_the_advocate_is_told(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    ana = await console.add("ana")
    page = await signed_in_page(browser, console, ana)
    person = Person(console.helpline, country="US")
    ticket = await ask_for_an_advocate(console, person, "hello")
    await claim(page, ticket)
    chat = await show_chat(page, ticket.public_alias)
    before = len(console.phone.texts(person.user_id))
    await chat.get_by_label("Message").fill("LONG " * 340)
    await expect(chat.locator(".counter")).to_contain_text("too long to send")
    await chat.get_by_label("Message").press("Enter")
    await expect(chat.locator(".line.system").last).to_contain_text("the limit is 1,600")
    assert len(console.phone.texts(person.user_id)) == before
    await page.context.close()


async def test_an_urgent_person_in_another_language_stands_out(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    ana = await console.add("ana")
    page = await signed_in_page(browser, console, ana)
    person = Person(console.helpline, country="MX", language_code="es")
    ticket = await ask_for_an_advocate(console, person, "hola")
    async with transaction(console.helpline.sessions) as session:
        stored = await session.get(Ticket, ticket.id)
        assert stored is not None
        stored.urgent = True
        session.add(stored)
    await console.helpline.queue.announce()
    row = page.locator(f"li[data-alias='{ticket.public_alias}']")
    await expect(row).to_contain_text("URGENT")
    await expect(row).to_contain_text("(not your language)")
    colour = await row.locator(".ticket-head strong").evaluate("(n) => getComputedStyle(n).color")
    assert colour == "rgb(155, 28, 28)"
    await page.context.close()


async def test_a_page_opened_at_an_address_the_socket_refuses_says_why(
    tmp_path: Path, browser: Browser
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/h.db"
    async for console in start_console(
        url, FrozenClock(), HELPLINE_MODE="serve", HELPLINE_PUBLIC_URL="http://127.0.0.1:1"
    ):
        ana = await console.add("ana")
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(console.base_url + "/console/login")
        await page.get_by_label("Name").fill(ana.name)
        await page.get_by_label("Password").fill("correct horse battery staple")
        await page.get_by_label("Code from your authenticator app").fill(ana.code(console.clock))
        await page.get_by_role("button", name="Sign in").click()
        problem = page.locator("#origin-problem")
        await expect(problem).to_contain_text("HELPLINE_PUBLIC_URL")
        await expect(problem).to_contain_text("http://127.0.0.1:1")
        await expect(page.locator("#connection")).to_contain_text("Cannot connect")
        await expect(page.locator("#queue-empty")).not_to_contain_text("Nobody is waiting")
        await context.close()


async def test_an_offline_advocate_is_not_offered_as_a_transfer_target(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    ana = await console.add("ana")
    await console.add("bea")
    cai = await console.add("cai", languages=("es",))
    await mark_online(console.helpline.sessions, cai.id, console.clock() + dt.timedelta(hours=1))
    page = await signed_in_page(browser, console, ana)
    ticket = await ask_for_an_advocate(console, Person(console.helpline, country="US"), "hi")
    await claim(page, ticket)
    chat = await show_chat(page, ticket.public_alias)
    options = chat.get_by_label("Transfer to").locator("option")
    await expect(options.filter(has_text="bea")).to_be_disabled()  # offline
    await expect(options.filter(has_text="cai")).to_be_disabled()  # online, not English
    await page.context.close()


async def test_a_malformed_character_does_not_stop_the_page(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    ana = await console.add("ana")
    page = await signed_in_page(browser, console, ana)
    person = Person(console.helpline, country="US")
    ticket = await ask_for_an_advocate(console, person, "hello")
    await claim(page, ticket)
    chat = await show_chat(page, ticket.public_alias)
    stored = await console.helpline.queue.entries()
    held = next(e for e in stored if e.public_alias == ticket.public_alias)
    async with console.helpline.sessions() as session:
        live = await session.get(Ticket, held.id)
    assert live is not None
    await console.helpline.queue.relay_from_person(live, "broken \ud800 character")
    await console.helpline.queue.relay_from_person(live, "and the next message")
    await expect(chat.locator(".line.person")).to_have_count(2)
    await expect(chat.locator(".line.person").last).to_contain_text("and the next message")
    await expect(page.locator("#connection")).to_have_text("Connected")
    await page.context.close()
