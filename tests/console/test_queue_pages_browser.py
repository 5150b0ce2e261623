"""A long line in real Chromium: a screenful first, "Show more" for the rest, live updates."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from bot.models import Ticket
from tests.console.conftest import Console
from tests.console.test_browser import browser, signed_in_page
from tests.test_queue_pages import fill_line, inbox_order

pytestmark = pytest.mark.browser
__all__ = ["browser"]


async def shown(page: Page) -> list[str]:
    return await page.locator("#queue li").evaluate_all(
        "(rows) => rows.map((r) => r.dataset.alias)"
    )


async def test_the_inbox_shows_a_screenful_then_the_rest_in_order_urgent_first(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    tickets = await fill_line(console.helpline, console.clock, 60)
    by_alias = {t.public_alias: t for t in tickets}
    expected = inbox_order(tickets, {"en"})
    ana, bea = await console.add("ana", languages=("en",)), await console.add("bea")
    page = await signed_in_page(browser, console, ana)

    rows = page.locator("#queue li")
    await expect(rows).to_have_count(25)
    assert await shown(page) == expected[:25]
    assert by_alias[expected[0]].urgent and by_alias[expected[0]].language == "en"
    await expect(page.locator("#queue-count")).to_have_text("(60 waiting)")
    english_urgent = sum(1 for t in tickets if t.language == "en" and t.urgent)
    await expect(page.locator("#queue-summary")).to_contain_text(
        f"English: 20 ({english_urgent} urgent)"
    )
    await expect(page.locator("#queue-shown")).to_have_text("Showing 25 of 60 waiting.")

    more = page.get_by_role("button", name="Show more")
    await more.focus()
    await page.keyboard.press("Enter")
    await expect(rows).to_have_count(50)
    assert await shown(page) == expected[:50]
    # The keyboard lands on the first person newly shown.
    await expect(page.get_by_role("button", name=f"Claim {expected[25]}")).to_be_focused()

    # Someone else takes the first person: the page re-reads the fifty it shows.
    first = by_alias[expected[0]].id
    assert first is not None
    await console.helpline.queue.claim(ticket_id=first, advocate_id=bea.id)
    await expect(page.locator("#queue-count")).to_have_text("(59 waiting)")
    await expect(rows).to_have_count(50)
    assert await shown(page) == expected[1:51]
    assert await page.evaluate("document.body.dataset.alerts") is None

    # A new person at the very end of the line, beyond what is shown, is still announced.
    async with console.helpline.sessions() as session, session.begin():
        session.add(Ticket(public_alias="Late Arrival", channel="sms", language="fr", country="FR"))
    await console.helpline.queue.announce()
    await expect(page.locator("body[data-alerts='1']")).to_be_attached()
    await expect(page.locator("#queue-count")).to_have_text("(60 waiting)")
    assert "Late Arrival" not in await shown(page)

    await more.click()
    await expect(rows).to_have_count(60)
    assert await shown(page) == [*expected[1:], "Late Arrival"]
    await expect(more).to_be_hidden()
