"""In real Chromium: times in the advocate's own time zone, the Ukrainian inbox's counted
sentences, and the history's charts running right to left in Arabic."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from bot.models import Advocate
from bot.states import Role
from tests.console.conftest import Console
from tests.console.supervisor_pages import ask_for_a_person, axe_violations, chromium, sign_in
from tests.console.test_supervisor_browser import _seed_fortnight
from tests.dialogue import Person

pytestmark = pytest.mark.browser

WINTER_MORNING_UTC = dt.datetime(2026, 1, 15, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def _claim(page: Page, alias: str, claim: str = "Claim") -> None:
    await page.get_by_role("button", name=f"{claim} {alias}").click()
    await expect(page.locator(f"article[aria-label$='{alias}']")).to_be_visible()


async def test_an_advocate_in_bucharest_sees_bucharest_time_whatever_the_computers_zone(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    ana = await console.add("ana")
    # The computer is in New York; the advocate works Bucharest hours.
    page = await sign_in(
        browser, console, ana, path="/console/preferences", timezone_id="America/New_York"
    )
    assert await axe_violations(page) == [], "preferences page"
    await page.get_by_label("Time zone").select_option("Europe/Bucharest")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_label("Time zone")).to_have_value("Europe/Bucharest")
    async with console.helpline.sessions() as session:
        stored = await session.get(Advocate, ana.id)
        assert stored is not None and stored.console_timezone == "Europe/Bucharest"

    await page.clock.set_fixed_time(WINTER_MORNING_UTC)
    await page.goto(console.base_url + "/console")
    await expect(page.locator("#time-zone-link")).to_have_text("Time zone: Europe/Bucharest")
    person = Person(console.helpline, country="US")
    ticket = await ask_for_a_person(console, person, "hello")
    await _claim(page, ticket.public_alias)
    await person.send("are you there")
    line = page.locator(".line.person").last
    await expect(line).to_contain_text("are you there")
    # 10:00 UTC in January is 12:00 in Bucharest (and 05:00 on the computer's own clock).
    await expect(line.locator("time")).to_have_text("12:00\u202fPM")
    assert await line.locator("time").get_attribute("datetime") == "2026-01-15T10:00:00.000Z"
    await page.context.close()


async def test_the_ukrainian_inbox_counts_in_ukrainian(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    olena = await console.add("olena", languages=("uk", "en"))
    page = await sign_in(browser, console, olena, path="/console")
    await expect(page.locator("html")).to_have_attribute("lang", "uk")
    first = Person(console.helpline, country="UA", language_code="uk")
    second = Person(console.helpline, country="UA", language_code="uk")
    one = await ask_for_a_person(console, first, "привіт")
    await expect(page.locator("#queue-count")).to_have_text("(1 чекає)")
    two = await ask_for_a_person(console, second, "добрий день")
    await expect(page.locator("#queue-count")).to_have_text("(2 чекають)")
    await _claim(page, one.public_alias, "Взяти")
    await _claim(page, two.public_alias, "Взяти")  # the second chat is the one shown
    for text in ("раз", "два", "три"):
        await first.send(text)
    item = page.locator("#chat-list li[data-ticket] button", has_text=one.public_alias)
    await expect(item.locator(".unread")).to_have_text(" 3 непрочитані")
    await expect(item.locator(".since")).to_have_text(re.compile(r"^остання від людини .+ тому$"))

    chat = page.locator(f"article[aria-label$='{two.public_alias}']")
    box = chat.locator(".compose-text")
    await box.fill("а" * 1_450)
    await expect(chat.locator(".counter")).to_have_text("1\u00a0450 з 1\u00a0600 символів")
    await box.fill("а" * 1_701)
    await expect(chat.locator(".counter")).to_have_text(
        "1\u00a0701 з 1\u00a0600 символів: задовге, щоб надіслати"
    )
    await box.press("Enter")
    await expect(chat.locator(".line.system .text").last).to_have_text(
        "Не надіслано: у повідомленні 1\u00a0701 символ, межа — 1\u00a0600. "
        "Скоротіть його або надішліть двома частинами."
    )
    await page.context.close()


async def _day_bars_x(page: Page, day: str) -> float:
    bar = page.locator(f"#contacts-channel-svg rect[data-series='sms'][data-category='{day}']")
    box = await bar.bounding_box()
    assert box is not None
    return box["x"]


async def test_the_history_charts_run_right_to_left_in_arabic(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    layla = await console.add("layla", role=Role.SUPERVISOR, languages=("en", "ar"))
    today = await _seed_fortnight(console)
    first, last = (today - dt.timedelta(days=13)).isoformat(), today.isoformat()
    page = await sign_in(browser, console, layla, path="/console/supervisor/history")
    await expect(page.locator("#days-in-utc")).to_contain_text("UTC")
    assert await _day_bars_x(page, first) < await _day_bars_x(page, last)

    await page.get_by_label("Console language").select_option("ar")
    await page.locator(".language-form button").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.locator("#contacts-channel-svg")).to_have_attribute("direction", "rtl")
    # Time runs from right to left: the first day is drawn to the right of the last.
    assert await _day_bars_x(page, first) > await _day_bars_x(page, last)
    # The value axis is on the right, its numbers still plain digits.
    svg = await page.locator("#contacts-channel-svg").bounding_box()
    tick = page.locator("#contacts-channel-svg > text", has_text=re.compile(r"^\d+$")).first
    tick_box = await tick.bounding_box()
    assert svg is not None and tick_box is not None
    assert tick_box["x"] > svg["x"] + svg["width"] * 0.9
    # Horizontal bars grow leftwards from their labels on the right.
    bar = await page.locator("#contacts-country-svg rect[data-category='MX']").bounding_box()
    label = await page.locator("#contacts-country-svg text", has_text="المكسيك").bounding_box()
    assert bar is not None and label is not None
    assert bar["x"] + bar["width"] <= label["x"] + 1
    # Hours of the week: midnight on the right.
    cells = page.locator("#unstaffed-svg > text", has_text=re.compile(r"^(00|23)$"))
    midnight = await cells.filter(has_text="00").bounding_box()
    late = await cells.filter(has_text="23").bounding_box()
    assert midnight is not None and late is not None and midnight["x"] > late["x"]
    await page.context.close()
