"""Helpers for the supervisor tests: sign in, people asking for a person, the axe audit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright, expect

from bot.models import Contact, Ticket
from tests import services
from tests.console.conftest import PASSWORD, Console, Staffer
from tests.console.test_browser import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_INSTALLED
from tests.dialogue import Person

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's chromium, as the console's own browser tests launch it."""
    services.require("Chromium", CHROMIUM_INSTALLED)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


async def sign_in(
    browser: Browser,
    console: Console,
    staffer: Staffer,
    *,
    path: str = "/console/supervisor",
    timezone_id: str | None = None,
) -> Page:
    """A signed-in page at ``path`` (in a browser whose computer is in ``timezone_id``)."""
    context = await browser.new_context(timezone_id=timezone_id)
    page = await context.new_page()
    page.on("dialog", lambda dialog: dialog.dismiss())
    await page.goto(console.base_url + "/console/login?lang=en")
    await page.locator("#name").fill(staffer.name)
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#code").fill(staffer.code(console.clock))
    await page.locator("form[method='post'][action='/console/login'] button[type=submit]").click()
    await page.wait_for_url(console.base_url + "/console")
    await page.goto(console.base_url + path)
    if path == "/console/supervisor":
        await expect(page.locator("body[data-connected='1']")).to_be_attached()
    return page


async def ask_for_a_person(console: Console, person: Person, *first: str) -> Ticket:
    """The person writes ``first`` and asks to talk to someone; return their ticket."""
    for text in first:
        await person.send(text)
    async with console.helpline.sessions() as session:
        contact = await session.get(Contact, await person.alias())
        queued = contact is not None and contact.ticket_id is not None
    if not queued:
        await person.send(choice="talk")
        await person.send(choice="talk:yes")
    async with console.helpline.sessions() as session:
        contact = await session.get(Contact, await person.alias())
        assert contact is not None and contact.ticket_id is not None
        ticket = await session.get(Ticket, contact.ticket_id)
    assert ticket is not None
    return ticket


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core (WCAG 2.1 A and AA rules) on the page; return what it found."""
    # Evaluated over the DevTools protocol, so the console's strict CSP stays on.
    await page.evaluate(AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = await page.evaluate(
        """async () => await axe.run(document, {
             runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})"""
    )
    assert len(result["passes"]) > 10, "axe did not run its rules"
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]
