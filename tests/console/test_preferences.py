"""Each advocate's console language and time zone, the languages the console lacks, the
"open a long time" threshold, and the inbox's sentences with a count in every plural form."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from markupsafe import Markup

from bot.console.words import Words, console_languages, words
from bot.content_check import Report, check_plural_forms
from bot.db import transaction
from bot.i18n import read_language
from bot.models import Advocate
from bot.settings import Settings
from bot.states import Role
from tests.conftest import FrozenClock
from tests.console.conftest import Console, Staffer, start_console
from tests.console.supervisor_pages import ask_for_a_person
from tests.console.test_auth import csrf_in
from tests.console.test_live import claimed, open_page, waiting_person
from tests.console.test_supervisor import board_socket, client_for, next_board
from tests.dialogue import Person

WINTER_NOON_UTC = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


def test_the_time_zone_and_the_long_chat_threshold_are_settings_that_refuse_bad_values() -> None:
    default = Settings.model_validate({"HELPLINE_MODE": "test"})
    assert default.console_timezone == "UTC"
    assert default.long_chat_minutes == 45
    chosen = Settings.model_validate(
        {
            "HELPLINE_MODE": "test",
            "HELPLINE_CONSOLE_TIMEZONE": "Europe/Bucharest",
            "HELPLINE_LONG_CHAT_MINUTES": "20",
        }
    )
    assert chosen.console_timezone == "Europe/Bucharest" and chosen.long_chat_minutes == 20
    for zone in ("Mars/Olympus_Mons", "../../etc/passwd", "", "europe/bucharest"):
        with pytest.raises(ValueError, match="IANA time zone"):
            Settings.model_validate({"HELPLINE_MODE": "test", "HELPLINE_CONSOLE_TIMEZONE": zone})
    for minutes in ("0", "-5", "1441"):
        with pytest.raises(ValueError):
            Settings.model_validate(
                {"HELPLINE_MODE": "test", "HELPLINE_LONG_CHAT_MINUTES": minutes}
            )


def test_server_times_are_the_advocates_wall_clock() -> None:
    assert Words("en").time(WINTER_NOON_UTC) == "12:00\u202fPM"
    # Bucharest is two hours ahead of UTC in winter, three in summer.
    assert Words("en", "Europe/Bucharest").time(WINTER_NOON_UTC) == "2:00\u202fPM"
    summer = dt.datetime(2026, 7, 15, 12, 0)  # naive: UTC, as the database stores it
    assert Words("en", "Europe/Bucharest").time(summer) == "3:00\u202fPM"
    assert Words("uk", "Europe/Kyiv").datetime(WINTER_NOON_UTC) == "15.01.26, 14:00"


def test_sentences_with_a_count_take_each_languages_plural_forms() -> None:
    uk, ar, en = words("uk"), words("ar"), words("en")
    assert [uk.plural("inbox.p.unread", n) for n in (1, 3, 5, 21)] == [
        "1 непрочитане",
        "3 непрочитані",
        "5 непрочитаних",
        "21 непрочитане",
    ]
    assert ar.plural("inbox.p.unread", 2) == "رسالتان غير مقروءتين"
    assert en.plural("inbox.p.services", 1) == "1 service found."
    assert en.plural("inbox.p.services", 4) == "4 services found."
    # The page gets every form its language uses, keyed by the English sentence.
    forms = uk.plural_phrases(["inbox.p.unread"])
    assert set(forms["{count} unread"]) == {"one", "few", "many", "other"}


def test_a_console_language_missing_a_plural_form_its_grammar_uses_is_an_error() -> None:
    english = read_language("en")
    ukrainian = read_language("uk")
    report = Report()
    check_plural_forms("uk", english, ukrainian, report)
    assert report.errors == []
    del ukrainian["console.inbox.p.unread.few"]
    check_plural_forms("uk", english, ukrainian, report)
    assert report.errors == ["uk: missing plural form console.inbox.p.unread.few"]


async def _set(console: Console, staffer: Staffer, **values: str) -> None:
    async with transaction(console.helpline.sessions) as session:
        advocate = await session.get(Advocate, staffer.id)
        assert advocate is not None
        for name, value in values.items():
            setattr(advocate, name, value)
        session.add(advocate)


async def _stored(console: Console, staffer: Staffer) -> Advocate:
    async with console.helpline.sessions() as session:
        advocate = await session.get(Advocate, staffer.id)
    assert advocate is not None
    return advocate


async def test_the_picker_offers_only_languages_the_console_speaks_and_refuses_others(
    sqlite_console: Console,
) -> None:
    console = sqlite_console
    ana = await console.add("ana", languages=("en",))
    async with await client_for(console, ana) as client:
        page = await client.get("/console/preferences")
        offered = re.findall(r'<option value="([a-z_]+)" lang=', page.text)
        assert offered == list(console_languages()) == ["en", "es", "fr", "uk", "ar"]
        assert '<option value="Europe/Bucharest">' in page.text
        csrf = csrf_in(page.text)
        refused = await client.post(
            "/console/language", data={"csrf": csrf, "language": "ro", "next": "/console"}
        )
        assert refused.status_code == 400 and refused.text == "Unknown language"
        refused = await client.post(
            "/console/language",
            data={"csrf": csrf, "language": "en", "timezone": "Europe/Atlantis"},
        )
        assert refused.status_code == 400 and refused.text == "Unknown time zone"
        assert (await _stored(console, ana)).console_timezone == ""
        saved = await client.post(
            "/console/language",
            data={"csrf": csrf, "language": "uk", "timezone": "Europe/Kyiv", "next": "/console"},
        )
        assert saved.status_code == 303 and saved.headers["location"] == "/console"
        stored = await _stored(console, ana)
        assert (stored.console_language, stored.console_timezone) == ("uk", "Europe/Kyiv")
        inbox = await client.get("/console")
        assert '<meta name="time-zone" content="Europe/Kyiv">' in inbox.text
        assert "Часовий пояс: Europe/Kyiv" in inbox.text
        # The bar's language form keeps the time zone as it is.
        await client.post("/console/language", data={"csrf": csrf, "language": "es"})
        stored = await _stored(console, ana)
        assert (stored.console_language, stored.console_timezone) == ("es", "Europe/Kyiv")


async def test_an_advocate_whose_language_has_no_console_catalogue_gets_english_and_a_note(
    sqlite_console: Console,
) -> None:
    console = sqlite_console
    ion = await console.add("ion", role=Role.SUPERVISOR, languages=("ro", "es"))
    # Stored before the console's list changed, or by hand: no catalogue for Romanian.
    await _set(console, ion, console_language="ro")
    async with await client_for(console, ion) as client:
        for path in ("/console", "/console/supervisor", "/console/supervisor/history"):
            page = await client.get(path)
            assert '<html lang="en" dir="ltr">' in page.text, path
            assert (
                "The console is not translated into Romanian yet: it is shown in English."
                in page.text
            ), path
        # Never chosen: the first of their languages the console has (Spanish), saying so.
        await _set(console, ion, console_language="")
        page = await client.get("/console")
        assert '<html lang="es" dir="ltr">' in page.text
        assert "La consola aún no está traducida a este idioma: rumano." in page.text
    ana = await console.add("ana", languages=("es", "ro"))
    async with await client_for(console, ana) as client:
        page = await client.get("/console")
        assert '<html lang="es" dir="ltr">' in page.text
        assert 'id="language-note"' not in page.text


@pytest.fixture
async def quick_long_chats(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Console]:
    async for running in start_console(
        f"sqlite+aiosqlite:///{tmp_path}/helpline.db", clock, HELPLINE_LONG_CHAT_MINUTES=10
    ):
        yield running


async def test_the_long_chat_threshold_comes_from_the_setting(
    quick_long_chats: Console,
) -> None:
    console = quick_long_chats
    sam = await console.add("sam", role=Role.SUPERVISOR)
    ana = await console.add("ana")
    async with await client_for(console, sam) as client:
        page = await client.get("/console/supervisor")
        assert "a chat open more than 10 min is marked" in page.text
    console.clock.advance(seconds=30)  # a sign-in code is taken once: the next one
    ticket = await ask_for_a_person(console, Person(console.helpline, country="US"), "hello")
    assert ticket.id is not None
    await console.helpline.queue.claim(ticket_id=ticket.id, advocate_id=ana.id)
    socket, _ = await board_socket(console, sam)
    try:
        console.clock.advance(minutes=9)
        await console.helpline.queue.announce()
        board = await next_board(socket, lambda f: len(f["chats"]) == 1)
        assert board["chats"][0]["long"] is False and board["long_chat_minutes"] == 10
        console.clock.advance(minutes=2)
        await console.helpline.queue.announce()
        board = await next_board(socket, lambda f: f["chats"] and f["chats"][0]["long"])
        assert board["chats"][0]["open_seconds"] == 11 * 60
    finally:
        await socket.close()


async def test_a_reply_over_the_limit_is_refused_with_its_numbers_for_the_page_to_word(
    sqlite_console: Console,
) -> None:
    console = sqlite_console
    ana = await console.add("ana")
    _, ticket = await waiting_person(console)
    async with open_page(console, ana) as page:
        ref = await claimed(page, ticket)
        await page.send(type="send", ticket=ref, text="x" * 1_700, ref=7)
        error = await page.wait_for(lambda f: f["type"] == "error")
    assert (error["ref"], error["length"], error["limit"]) == (7, 1_700, 1_600)
    assert "x" * 20 not in json.dumps(error)


async def test_the_inbox_gets_its_sentences_in_the_advocates_language(
    sqlite_console: Console,
) -> None:
    console = sqlite_console
    olena = await console.add("olena", languages=("uk",))
    async with await client_for(console, olena) as client:
        page = (await client.get("/console")).text
    phrases = json.loads(re.search(r'id="console-words">(.*?)</script>', page).group(1))  # type: ignore[union-attr]
    plurals = json.loads(re.search(r'id="console-plurals">(.*?)</script>', page).group(1))  # type: ignore[union-attr]
    assert phrases["last from person {time} ago"] == "остання від людини {time} тому"
    assert phrases["URGENT"] == "ТЕРМІНОВО"
    assert plurals["{count} unread"]["few"] == "{count} непрочитані"
    assert set(plurals["({count} waiting)"]) == {"one", "few", "many", "other"}
    # Every sentence the script looks up by its English text is sent to the page.
    script = (Path(__file__).parents[2] / "bot/console/static/console.js").read_text()
    looked_up = set(re.findall(r'\btr[fp]?\(\s*"((?:[^"\\]|\\.)*)"', script))
    joined = set(
        re.findall(r'\btr[fp]?\(\s*"((?:[^"\\]|\\.)*)"\s*\+\s*"((?:[^"\\]|\\.)*)"', script)
    )
    looked_up |= {a + b for a, b in joined}
    looked_up -= {a for a, _ in joined}
    missing = sorted(s for s in looked_up if s not in phrases and s not in plurals)
    assert missing == []


def test_the_origin_banner_is_translated_and_only_its_addresses_are_markup() -> None:
    here = Markup("<code>{}</code>").format("http://evil.example/<script>")
    allowed = Markup("<code>{}</code>").format("https://help.example.org")
    setting = Markup("<code>HELPLINE_PUBLIC_URL</code>")
    banner = words("fr").html("inbox.origin_problem", here=here, allowed=allowed, setting=setting)
    assert banner.startswith("La connexion en direct ne peut pas fonctionner")
    assert "<code>http://evil.example/&lt;script&gt;</code>" in banner
    assert "<script>" not in banner
    assert banner.count("<code>HELPLINE_PUBLIC_URL</code>") == 2
