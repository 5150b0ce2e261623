"""An automated accessibility audit (vendored axe-core) of the login, inbox and admin pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from bot.states import Role
from tests.console.conftest import Console
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

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core in the page (no network); return its serious and critical findings."""
    # Evaluated over the DevTools protocol, so the console's strict CSP stays on.
    await page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = await page.evaluate(
        """async () => {
          const result = await axe.run(document, {
            runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
          });
          return result.violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")) }));
        }"""
    )
    return found


async def test_the_login_page_has_no_serious_accessibility_problems(
    sqlite_console: Console, browser: Browser
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(sqlite_console.base_url + "/console/login")
    assert await serious_violations(page) == []
    await context.close()


async def test_the_inbox_with_chats_has_no_serious_accessibility_problems(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    ana = await console.add("ana", languages=("en", "es"))
    page = await signed_in_page(browser, console, ana)
    for country, language, greeting in (("US", None, "hello"), ("MX", "es", "hola")):
        person = Person(console.helpline, country=country, language_code=language)
        ticket = await ask_for_an_advocate(console, person, greeting)
        await claim(page, ticket)
        await person.send("<b>hostile</b> \u202e text")
    await ask_for_an_advocate(console, Person(console.helpline, country="US"), "hi")
    await expect(page.locator("#queue li")).to_have_count(1)
    await show_chat(page, ticket.public_alias)
    assert await serious_violations(page) == []
    await page.context.close()


async def test_the_admin_page_has_no_serious_accessibility_problems(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    root = await console.add("root", role=Role.ADMIN)
    await console.add("ana")
    page = await signed_in_page(browser, console, root)
    await page.goto(console.base_url + "/console/admin")
    assert await serious_violations(page) == []
    # And with a new authenticator code's QR code on it.
    await page.get_by_role("button", name="New authenticator code for ana").click()
    await expect(page.get_by_role("img", name="QR code")).to_be_visible()
    assert await serious_violations(page) == []
    await page.context.close()
