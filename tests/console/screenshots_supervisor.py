"""Screenshots of the supervisor's pages for docs/console.md: run by hand, not collected by pytest.

.venv/bin/python tests/console/screenshots_supervisor.py
"""

import asyncio
import datetime as dt
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from playwright.async_api import expect

from bot.accounts import mark_online
from bot.db import transaction
from bot.models import DailyCount
from bot.states import Role
from tests.conftest import FrozenClock
from tests.console.conftest import start_console
from tests.console.supervisor_pages import ask_for_a_person, chromium, sign_in
from tests.console.test_supervisor_browser import _seed_fortnight
from tests.dialogue import Person

OUT = Path(__file__).resolve().parents[2] / "docs" / "images"


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    clock = FrozenClock(dt.datetime(2026, 11, 30, 14, 5, tzinfo=dt.UTC))
    with tempfile.TemporaryDirectory() as tmp:
        async for console in start_console(f"sqlite+aiosqlite:///{tmp}/h.db", clock):
            sam = await console.add("sam", role=Role.SUPERVISOR, languages=("en", "ar"))
            ana = await console.add("ana", languages=("en", "es"))
            omar = await console.add("omar", languages=("ar", "fr"))
            await console.add("lena", languages=("uk", "ru"))
            for a in (ana, omar):
                await mark_online(
                    console.helpline.sessions, a.id, clock.now + dt.timedelta(hours=3)
                )
            await _seed_fortnight(console)
            async with transaction(console.helpline.sessions) as session:
                for back in range(14):
                    day = clock.now.date() - dt.timedelta(days=back)
                    for hour, halves in ((2, 40), (3, 90), (4, 120), (5, 60), (22, 12)):
                        if day.weekday() in (5, 6) or hour in (3, 4):
                            session.add(
                                DailyCount(
                                    day=day,
                                    channel="",
                                    language="",
                                    country="",
                                    metric=f"unstaffed:{hour:02d}",
                                    count=halves,
                                )
                            )
            people = [
                (Person(console.helpline, country="MX", language_code="es"), ("hola",)),
                (Person(console.helpline, country="US"), ("hello",)),
                (Person(console.helpline, country="EG", language_code="ar"), ("مرحبا",)),
                (Person(console.helpline, country="US"), ("hello", "help me now, he has a gun")),
                (Person(console.helpline, country="FR", language_code="fr"), ("bonjour",)),
            ]
            tickets = []
            for person, words in people:
                tickets.append(await ask_for_a_person(console, person, *words))
                clock.advance(minutes=3)
            await console.helpline.queue.claim(ticket_id=tickets[0].id, advocate_id=ana.id)
            await console.helpline.queue.claim(ticket_id=tickets[2].id, advocate_id=omar.id)
            clock.advance(minutes=50)
            await console.helpline.queue.claim(ticket_id=tickets[1].id, advocate_id=ana.id)
            clock.advance(minutes=2)
            async with chromium() as browser:
                page = await sign_in(browser, console, sam)
                await page.set_viewport_size({"width": 1280, "height": 1000})
                await console.helpline.queue.announce()
                await expect(page.locator("#chats tbody tr")).to_have_count(3)
                await page.wait_for_timeout(3500)  # let the urgent flash finish
                await page.screenshot(path=str(OUT / "supervisor-live-en.png"), full_page=True)
                await page.goto(console.base_url + "/console/supervisor/history")
                await page.screenshot(path=str(OUT / "supervisor-history-en.png"), full_page=False)
                await page.locator("#unstaffed").scroll_into_view_if_needed()
                await page.screenshot(path=str(OUT / "supervisor-unstaffed-en.png"))
                await page.goto(console.base_url + "/console/supervisor")
                await page.get_by_label("Console language").select_option("ar")
                await page.locator(".language-form button").click()
                await expect(page.locator("html")).to_have_attribute("dir", "rtl")
                await expect(page.locator("#chats tbody tr")).to_have_count(3)
                await page.wait_for_timeout(3500)
                await page.screenshot(path=str(OUT / "supervisor-live-ar.png"), full_page=True)
                await page.goto(console.base_url + "/console/supervisor/history")
                await page.locator("#unstaffed").scroll_into_view_if_needed()
                await page.screenshot(path=str(OUT / "supervisor-history-ar.png"), full_page=False)
            break


asyncio.run(main())
