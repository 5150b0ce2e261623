"""The supervisor's pages in real Chromium: live figures, charts against the database, Arabic."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect
from sqlmodel import select

from bot.accounts import mark_online
from bot.db import transaction
from bot.models import Advocate, DailyCount, Ticket
from bot.states import Role, TicketStatus
from tests.console.conftest import Console
from tests.console.supervisor_pages import ask_for_a_person, axe_violations, chromium, sign_in
from tests.dialogue import Person

pytestmark = pytest.mark.browser

FORTNIGHT = 14


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def online(console: Console, *advocates: int) -> None:
    for advocate in advocates:
        await mark_online(
            console.helpline.sessions, advocate, console.clock.now + dt.timedelta(hours=2)
        )


async def test_live_figures_follow_people_joining_being_claimed_reassigned_and_leaving(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    sam = await console.add("sam", role=Role.SUPERVISOR)
    ana = await console.add("ana", languages=("en", "es"))
    ben = await console.add("ben", languages=("es",))
    await online(console, ana.id, ben.id)
    page = await sign_in(browser, console, sam)
    await expect(page.locator("#waiting-total")).to_have_text("0")
    await expect(page.locator("#online tbody tr[data-advocate]")).to_have_count(2)
    await expect(page.locator("#urgent-none")).to_be_visible()

    maria = Person(console.helpline, country="MX", language_code="es")
    canary = "PERSONCANARY-5e1d necesito hablar"
    first = await ask_for_a_person(console, maria, "hola", canary)
    await expect(page.locator("#waiting-total")).to_have_text("1")
    spanish = page.locator("#waiting tbody tr[data-language='es'][data-urgent='0']")
    await expect(spanish).to_contain_text("Spanish")
    await expect(spanish.locator("td").nth(2)).to_have_text("1")

    john = Person(console.helpline, country="US")
    second = await ask_for_a_person(console, john, "hello", "help me now, he has a gun")
    assert second.urgent
    await expect(page.locator("#waiting-total")).to_have_text("2")
    await expect(page.locator("#urgent-list li")).to_contain_text(second.public_alias)
    await expect(page.locator("#urgent-list li.flash")).to_have_count(1)
    await expect(page.locator("#announcer")).to_contain_text(f"Urgent: {second.public_alias}")

    assert first.id is not None
    await console.helpline.queue.claim(ticket_id=first.id, advocate_id=ana.id)
    await expect(page.locator("#waiting-total")).to_have_text("1")
    chat = page.locator("#chats tbody tr", has_text=first.public_alias)
    await expect(chat).to_contain_text("ana")
    await expect(page.locator(f"#online tr[data-advocate='{ana.id}']")).to_contain_text(
        "1 of 3 chats"
    )

    await chat.get_by_label(f"Reassign the chat with {first.public_alias}").select_option(
        str(ben.id)
    )
    await chat.get_by_role("button", name=f"Reassign {first.public_alias}").click()
    await expect(page.locator("#result")).to_have_text("The chat was reassigned.")
    await expect(page.locator("#chats tbody tr", has_text=first.public_alias)).to_contain_text(
        "ben"
    )
    async with console.helpline.sessions() as session:
        moved = await session.get(Ticket, first.id)
        assert moved is not None and moved.advocate_id == ben.id

    await john.send("leave")
    await expect(page.locator("#waiting-total")).to_have_text("0")
    await expect(page.locator("#urgent-none")).to_be_visible()

    console.clock.advance(minutes=46)
    await console.helpline.queue.announce()
    long_chat = page.locator("#chats tbody tr.long", has_text=first.public_alias)
    await expect(long_chat).to_contain_text("Open a long time")
    assert canary not in await page.content()


async def _seed_fortnight(console: Console) -> dt.date:
    """Contacts on two channels over 14 days (some days under five), waits on two days."""
    today = console.clock.now.date()
    async with transaction(console.helpline.sessions) as session:
        for n in range(FORTNIGHT):
            day = today - dt.timedelta(days=FORTNIGHT - 1 - n)
            session.add(
                DailyCount(
                    day=day,
                    channel="sms",
                    language="es",
                    country="MX",
                    metric="contact",
                    count=10 + n,
                )
            )
            session.add(
                DailyCount(
                    day=day,
                    channel="telegram",
                    language="uk",
                    country="UA",
                    metric="contact",
                    count=n % 5,
                )
            )
            session.add(
                DailyCount(
                    day=day, channel="sms", language="es", country="MX", metric="message", count=99
                )
            )
        busy = dt.datetime.combine(today - dt.timedelta(days=2), dt.time(10), dt.UTC)
        for minutes in (1, 2, 3, 4, 5, 6):
            session.add(_ticket(busy, minutes, "referral_shelter"))
        quiet = dt.datetime.combine(today - dt.timedelta(days=1), dt.time(10), dt.UTC)
        for minutes in (7, 8, 9):
            session.add(_ticket(quiet, minutes, "safety_planning"))
    return today


def _ticket(created: dt.datetime, wait_minutes: int, outcome: str) -> Ticket:
    claimed = created + dt.timedelta(minutes=wait_minutes)
    return Ticket(
        public_alias="Seeded Name",
        channel="sms",
        language="es",
        country="MX",
        status=TicketStatus.CLOSED,
        created_at=created,
        claimed_at=claimed,
        closed_at=claimed + dt.timedelta(minutes=20),
        outcomes=outcome,
    )


async def _table(page: Page, chart: str) -> list[list[str]]:
    rows = page.locator(f"#{chart}-table tr")
    return [
        [cell.strip() for cell in await rows.nth(i).locator("th, td").all_inner_texts()]
        for i in range(await rows.count())
    ]


async def test_a_seeded_fortnight_is_charted_as_the_database_counts_it_with_small_counts_hidden(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    sam = await console.add("sam", role=Role.SUPERVISOR)
    today = await _seed_fortnight(console)
    page = await sign_in(browser, console, sam, path="/console/supervisor/history")
    await expect(page.locator("#range-shown")).to_contain_text(f"{today.year} to")

    async with console.helpline.sessions() as session:
        stored = (
            await session.exec(select(DailyCount).where(DailyCount.metric == "contact"))
        ).all()
    by_day: dict[tuple[str, str], int] = {(r.day.isoformat(), r.channel): r.count for r in stored}
    days = [(today - dt.timedelta(days=FORTNIGHT - 1 - n)).isoformat() for n in range(FORTNIGHT)]

    table = await _table(page, "contacts-channel")
    assert table[0] == ["Day", "SMS", "Telegram"]
    assert len(table) == FORTNIGHT + 1
    svg = page.locator("#contacts-channel-svg")
    for day, row in zip(days, table[1:], strict=True):
        for channel, shown in zip(("sms", "telegram"), row[1:], strict=True):
            count = by_day.get((day, channel), 0)
            expected = str(count) if count >= 5 else "<5"
            assert shown == expected, (day, channel)
            bar = svg.locator(f"rect[data-series='{channel}'][data-category='{day}']")
            if count >= 5:
                await expect(bar).to_have_attribute("data-value", str(count))
            else:
                await expect(bar).to_have_count(0)
    assert sum(1 for row in table[1:] if row[2] == "<5") == FORTNIGHT  # 0..4: all hidden

    by_language = await _table(page, "contacts-day-language")
    assert by_language[0] == ["Day", "Spanish", "Ukrainian"]
    assert [row[1:] for row in by_language[1:]] == [row[1:] for row in table[1:]]

    countries = await _table(page, "contacts-country")
    total_mx = sum(count for (_, channel), count in by_day.items() if channel == "sms")
    assert ["Mexico", str(total_mx)] in countries
    total_ua = sum(count for (_, channel), count in by_day.items() if channel == "telegram")
    assert ["Ukraine", str(total_ua)] in countries  # 2 a day over two weeks: shown

    wait = await _table(page, "wait")
    busy = next(row for row in wait[1:] if row[1] != "<5")
    assert busy[1:] == ["3", "6", "6"]  # median 3 min, 90th percentile 6 min, 6 chats
    assert sum(1 for row in wait[1:] if row[1] != "<5") == 1  # the day of 3 chats is hidden
    outcomes = await _table(page, "outcomes")
    assert ["Referred: shelter", "6"] in outcomes
    assert ["Safety planning", "<5"] in outcomes

    for chart in ("contacts-channel", "wait", "outcomes"):
        link = page.locator(f"#{chart} a[download]")
        response = await page.request.get(console.base_url + str(await link.get_attribute("href")))
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(await response.text())))
        on_page = await _table(page, chart)
        assert rows[0] == on_page[0]
        assert [row[1:] for row in rows[1:]] == [row[1:] for row in on_page[1:]]
        if chart != "outcomes":
            assert [row[0] for row in rows[1:]] == days


async def test_the_arabic_console_lays_out_right_to_left_and_the_choice_is_kept(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    layla = await console.add("layla", role=Role.SUPERVISOR, languages=("en", "ar"))
    await _seed_fortnight(console)
    page = await sign_in(browser, console, layla)
    await page.get_by_label("Console language").select_option("ar")
    await page.get_by_role("button", name="Save language").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.locator("html")).to_have_attribute("lang", "ar")
    await expect(page.get_by_role("heading", level=1)).to_have_text("اللوحة المباشرة")
    await expect(page.locator("body[data-connected='1']")).to_be_attached()
    await expect(page.locator("#connection")).to_have_text("مباشر: الأرقام تتحدث تلقائيًا.")
    assert await page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    # Right to left: the first thing in the top bar (who is signed in) sits at the right.
    who = await page.locator("header.bar > span").bounding_box()
    nav = await page.locator("header.bar > nav").bounding_box()
    assert who is not None and nav is not None and who["x"] > nav["x"]
    async with console.helpline.sessions() as session:
        stored = await session.get(Advocate, layla.id)
        assert stored is not None and stored.console_language == "ar"

    await page.goto(console.base_url + "/console/supervisor/history")
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.locator("#unstaffed-table")).to_contain_text("الاثنين")
    await expect(page.locator("#contacts-country-table")).to_contain_text("المكسيك")
    await page.goto(console.base_url + "/console/admin")  # not an administrator: refused
    await page.goto(console.base_url + "/console")
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")


async def test_the_supervisor_pages_pass_the_accessibility_audit_in_english_and_arabic(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    sam = await console.add("sam", role=Role.SUPERVISOR, languages=("en", "es"))
    ana = await console.add("ana", languages=("es",))
    await online(console, ana.id)
    await _seed_fortnight(console)
    person = Person(console.helpline, country="MX", language_code="es")
    ticket = await ask_for_a_person(console, person, "hola")
    assert ticket.id is not None
    await console.helpline.queue.claim(ticket_id=ticket.id, advocate_id=ana.id)
    await ask_for_a_person(
        console, Person(console.helpline, country="US"), "hello", "help me now, he has a gun"
    )
    page = await sign_in(browser, console, sam)
    for language in ("en", "ar"):
        if language == "ar":
            await page.get_by_label("Console language").select_option("ar")
            await page.locator(".language-form button").click()
            await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        await expect(page.locator("#chats tbody tr", has_text=ticket.public_alias)).to_be_visible()
        await expect(page.locator("#urgent-list li")).to_have_count(1)
        assert await axe_violations(page) == [], f"live board ({language})"
        await page.goto(console.base_url + "/console/supervisor/history")
        assert await axe_violations(page) == [], f"history ({language})"
        await page.goto(console.base_url + "/console/login?lang=" + language)
        await page.goto(console.base_url + "/console/supervisor")


async def test_the_sign_in_and_accounts_pages_speak_arabic_and_pass_the_audit(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    ada = await console.add("ada", role=Role.ADMIN, languages=("ar", "en"))
    await console.add("omar", languages=("ar", "fr"))
    context = await browser.new_context()
    login = await context.new_page()
    await login.goto(console.base_url + "/console/login?lang=ar")
    await expect(login.locator("html")).to_have_attribute("dir", "rtl")
    await expect(login.get_by_label("الرمز من تطبيق المصادقة")).to_be_visible()
    assert await axe_violations(login) == [], "sign-in page (ar)"
    await context.close()

    page = await sign_in(browser, console, ada, path="/console/admin")
    # Ada's first language is Arabic and she has not chosen: the console speaks Arabic.
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.get_by_role("heading", level=1)).to_have_text("الحسابات")
    await expect(page.get_by_role("button", name="تعطيل omar")).to_be_visible()
    await expect(page.locator(".accounts")).to_contain_text("العربية (ar)")
    assert await axe_violations(page) == [], "accounts page (ar)"
    await page.get_by_label("لغة اللوحة").select_option("en")
    await page.locator(".language-form button").click()
    await expect(page.locator("html")).to_have_attribute("dir", "ltr")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Accounts")
    assert page.url.endswith("/console/admin")


async def test_an_advocate_who_speaks_arabic_works_in_an_arabic_inbox(
    sqlite_console: Console, browser: Browser
) -> None:
    console = sqlite_console
    omar = await console.add("omar", languages=("ar", "fr"))
    page = await sign_in(browser, console, omar, path="/console")
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.locator("#queue-title")).to_contain_text("الطابور")
    await expect(page.locator("#connection")).to_have_text("متصل")
    await expect(page.locator("#queue-empty")).to_have_text("لا أحد ينتظر.")
    person = Person(console.helpline, country="EG", language_code="ar")
    ticket = await ask_for_a_person(console, person, "مرحبا")
    await page.get_by_role("button", name=f"استلام {ticket.public_alias}").click()
    chat = page.get_by_role("article", name=f"محادثة مع {ticket.public_alias}")
    await expect(chat.get_by_label("الرسالة")).to_be_visible()
    await expect(chat.get_by_role("button", name="إغلاق المحادثة")).to_be_visible()
    await expect(chat.get_by_text("أُعطي رقم الخط")).to_be_visible()  # an outcome, in Arabic
    await expect(chat.locator(".line.system").first).to_contain_text(
        f"فُتحت المحادثة مع {ticket.public_alias}."
    )
    # A message the server composes in English reaches the page in Arabic.
    await chat.get_by_label("الرمز البريدي أو المدينة").fill("Qwxzzy")
    await chat.get_by_role("button", name="بحث").click()
    # The first search of the process opens the place index: allow for a loaded machine.
    await expect(chat.locator(".directory-error")).to_have_text(
        "لم يُتعرَّف على المكان. اكتب رمزًا بريديًا أو اسم مدينة، مثل Houston أو Toronto.",
        timeout=20_000,
    )
    assert await axe_violations(page) == [], "inbox (ar)"
