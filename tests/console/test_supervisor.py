"""The supervisor's routes and board socket: who may see them, what they carry, what is counted."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from typing import Any

import httpx
import pytest
import websockets
from sqlmodel import select

from bot.console.words import console_languages, from_accept_language, words
from bot.helpline import Helpline
from bot.i18n import language_codes, read_language
from bot.models import Contact, DailyCount
from bot.states import Role
from bot.tasks import Housekeeping
from tests.conftest import FrozenClock
from tests.console.conftest import Console, Staffer, assert_nothing_stored
from tests.console.supervisor_pages import ask_for_a_person
from tests.console.test_auth import signed_in_cookie
from tests.dialogue import Person


async def client_for(console: Console, staffer: Staffer) -> httpx.AsyncClient:
    cookie = await signed_in_cookie(console, staffer)
    return httpx.AsyncClient(
        base_url=console.base_url, headers={"Cookie": f"helpline_console={cookie}"}
    )


async def board_socket(console: Console, staffer: Staffer) -> tuple[Any, list[dict[str, Any]]]:
    client = await client_for(console, staffer)
    async with client:
        html = (await client.get("/console/supervisor")).text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert csrf is not None
    socket = await websockets.connect(
        console.ws_url.replace("/console/ws", "/console/supervisor/ws"),
        origin=websockets.Origin(console.origin),
        additional_headers={"Cookie": str(client.headers["Cookie"])},
    )
    await socket.send(json.dumps({"type": "hello", "csrf": csrf.group(1)}))
    frames = [json.loads(await socket.recv())]
    return socket, frames


async def next_board(socket: Any, test: Any) -> dict[str, Any]:
    while True:
        frame = json.loads(await socket.recv())
        if frame["type"] == "board" and test(frame):
            return dict(frame)


async def test_an_advocate_cannot_open_the_supervisor_pages_csv_or_board(
    sqlite_console: Console,
) -> None:
    console = sqlite_console
    ana = await console.add("ana")
    async with await client_for(console, ana) as client:
        for path in (
            "/console/supervisor",
            "/console/supervisor/history",
            "/console/supervisor/history/contacts-channel.csv",
        ):
            response = await client.get(path)
            assert response.status_code == 403, path
            assert "This page is for supervisors." in response.text
        cookie = str(client.headers["Cookie"])
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(
            console.ws_url.replace("/console/ws", "/console/supervisor/ws"),
            origin=websockets.Origin(console.origin),
            additional_headers={"Cookie": cookie},
        ):
            pass
    assert refused.value.response.status_code == 403
    async with httpx.AsyncClient(base_url=console.base_url) as anonymous:
        response = await anonymous.get("/console/supervisor/history")
        assert response.status_code == 303
        assert response.headers["location"] == "/console/login"


async def test_the_board_carries_ticket_names_only_and_ends_with_the_session(
    sqlite_console: Console,
) -> None:
    console = sqlite_console
    sam = await console.add("sam", role=Role.SUPERVISOR)
    socket, frames = await board_socket(console, sam)
    assert frames[0]["type"] == "board" and frames[0]["waiting_total"] == 0
    person = Person(console.helpline, country="US")
    canary = "BOARDCANARY-19ab I need to talk"
    ticket = await ask_for_a_person(console, person, "hello", canary)
    board = await next_board(socket, lambda f: f["waiting_total"] == 1)
    raw = json.dumps(board)
    assert ticket.public_alias not in raw  # waiting people are counted, not listed
    assert canary not in raw and person.user_id not in raw
    async with console.helpline.sessions() as session:
        contact = await session.get(Contact, await person.alias())
        assert contact is not None
    assert contact.alias not in raw
    assert board["waiting"] == [
        {"language": "en", "urgent": False, "count": 1, "longest_seconds": 0}
    ]
    # The session is revoked (signed out, deactivated): the next frame closes the board.
    from bot.console import auth
    from bot.models import ConsoleSession

    async with console.helpline.sessions() as session:
        sessions = (await session.exec(select(ConsoleSession))).all()
    for row in sessions:
        await auth.revoke(console.helpline, row.token_hash)
    await socket.send(json.dumps({"type": "reassign", "ticket": "s0", "to": None}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_contacts_are_counted_by_country_once_per_session(
    helpline: Helpline, clock: FrozenClock
) -> None:
    mexico = Person(helpline, country="MX", language_code="es")
    await mexico.send("hola")
    await mexico.send("1")
    nowhere = Person(helpline, channel=mexico.channel)
    await nowhere.send("hello")
    clock.advance(minutes=30)  # silent past the idle time: the next message is a new contact
    await mexico.send("hola")
    await helpline.counts.flush(helpline.sessions)
    async with helpline.sessions() as session:
        rows = (await session.exec(select(DailyCount).where(DailyCount.metric == "contact"))).all()
    counted: Counter[tuple[str, str]] = Counter()
    for row in rows:  # the half hour may cross midnight: one row a day
        counted[row.country, row.language] += row.count
    assert counted == {("MX", "es"): 2, ("", "en"): 1}


async def test_housekeeping_counts_half_minutes_with_people_waiting_and_nobody_online(
    helpline: Helpline, clock: FrozenClock
) -> None:
    from bot.accounts import TOTP_PURPOSE, add_advocate, mark_online

    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send(choice="talk")
    await person.send(choice="talk:yes")
    housekeeping = Housekeeping(helpline)
    await housekeeping.run_once()
    await housekeeping.run_once()  # the same half-minute is counted once
    clock.advance(seconds=30)
    await housekeeping.run_once()
    advocate, _ = await add_advocate(
        helpline.sessions, helpline.sealer(TOTP_PURPOSE), name="ana", password="a-long-password-1"
    )
    assert advocate.id is not None
    await mark_online(helpline.sessions, advocate.id, clock.now + dt.timedelta(minutes=5))
    clock.advance(seconds=30)
    await housekeeping.run_once()  # someone is online now: not counted
    async with helpline.sessions() as session:
        rows = (
            await session.exec(
                select(DailyCount).where(DailyCount.metric.startswith("unstaffed:"))  # type: ignore[attr-defined]
            )
        ).all()
    assert sum(r.count for r in rows) == 2
    assert all(r.channel == "" and r.language == "" and r.country == "" for r in rows)


def test_every_console_language_has_every_console_string_and_others_fall_back() -> None:
    english = {k for k in read_language("en") if k.startswith("console.")}
    assert len(english) > 100
    assert set(console_languages()) >= {"en", "es", "fr", "uk", "ar"}
    for code in console_languages():
        assert english <= set(read_language(code)), code
    for code in set(language_codes()) - set(console_languages()):
        assert words(code).code == "en"
    assert words("uk").t("live.load", chats=2, max=3) == "2 з 3 чатів"
    assert words("fr").number(1234.5) == "1\u202f234,5"
    assert words("ar").dir == "rtl" and words("es").dir == "ltr"
    assert words("es").date(dt.date(2026, 11, 30)) == "30 nov 2026"
    assert from_accept_language("de-DE,de;q=0.9,uk;q=0.8,en;q=0.5") == "uk"
    assert from_accept_language("de, pt;q=0.5") is None


async def test_the_sign_in_page_speaks_the_browsers_language_or_the_one_picked(
    sqlite_console: Console,
) -> None:
    async with httpx.AsyncClient(base_url=sqlite_console.base_url) as client:
        spanish = await client.get("/console/login", headers={"Accept-Language": "es-MX,es"})
        assert '<html lang="es" dir="ltr">' in spanish.text
        assert "Código de tu app de autenticación" in spanish.text
        arabic = await client.get("/console/login?lang=ar")
        assert '<html lang="ar" dir="rtl">' in arabic.text
        other = await client.get("/console/login", headers={"Accept-Language": "pt-BR"})
        assert '<html lang="en" dir="ltr">' in other.text


async def test_seeded_traffic_and_a_csv_export_leave_no_text_or_number_behind(
    sqlite_console: Console,
) -> None:
    console = sqlite_console
    sam = await console.add("sam", role=Role.SUPERVISOR, languages=("en", "es"))
    canaries: list[str] = []
    for n in range(8):
        words_ = f"CSVCANARY-{n}-7c2e ayúdame por favor"
        person = Person(console.helpline, country="MX", language_code="es", user_id=f"+5255{n:08d}")
        await ask_for_a_person(console, person, "hola", words_)
        canaries += [words_, person.user_id]
    await console.helpline.counts.flush(console.helpline.sessions)
    exported: list[str] = []
    async with await client_for(console, sam) as client:
        for chart in ("contacts-channel", "contacts-country", "asked", "wait", "outcomes"):
            response = await client.get(f"/console/supervisor/history/{chart}.csv")
            assert response.status_code == 200
            exported.append(response.text)
        exported.append((await client.get("/console/supervisor/history")).text)
    assert "Mexico,8" in exported[1]
    for canary in canaries:
        assert all(canary not in text for text in exported)
    await assert_nothing_stored(console, canaries)


async def test_small_languages_are_summed_into_other_before_small_counts_are_hidden(
    helpline: Helpline,
) -> None:
    from bot.console import stats
    from bot.db import transaction

    day = dt.date(2026, 11, 2)
    languages = {"en": 40, "es": 30, "fr": 20, "uk": 10, "ar": 8, "ru": 3, "zh": 2, "vi": 1}
    async with transaction(helpline.sessions) as session:
        for language, count in languages.items():
            session.add(
                DailyCount(day=day, channel="sms", language=language, metric="contact", count=count)
            )
    figures = await stats.contacts_by_day(
        helpline.sessions, stats.Range(day, day), "language", top=5
    )
    assert [(s.key, s.values) for s in figures.series] == [
        ("en", (40,)),
        ("es", (30,)),
        ("fr", (20,)),
        ("uk", (10,)),
        ("ar", (8,)),
        ("other", (6,)),  # 3 + 2 + 1: each alone would be hidden, together they are six
    ]


async def test_a_refused_reassign_is_explained_in_the_supervisors_language(
    sqlite_console: Console,
) -> None:
    from bot.accounts import mark_online
    from bot.db import transaction
    from bot.models import Advocate

    console = sqlite_console
    sam = await console.add("sam", role=Role.SUPERVISOR)
    async with transaction(console.helpline.sessions) as session:
        chosen = await session.get(Advocate, sam.id)
        assert chosen is not None
        chosen.console_language = "es"
        session.add(chosen)
    ana = await console.add("ana", languages=("es",))
    ben = await console.add("ben", languages=("es",))  # never online
    await mark_online(
        console.helpline.sessions, ana.id, console.clock.now + dt.timedelta(minutes=10)
    )
    ticket = await ask_for_a_person(
        console, Person(console.helpline, country="MX", language_code="es"), "hola"
    )
    assert ticket.id is not None
    await console.helpline.queue.claim(ticket_id=ticket.id, advocate_id=ana.id)
    socket, frames = await board_socket(console, sam)
    chat = frames[0]["chats"][0]  # the first board already shows the claimed chat
    assert chat["alias"] == ticket.public_alias and chat["advocate"] == "ana"
    await socket.send(json.dumps({"type": "reassign", "ticket": chat["ticket"], "to": ben.id}))
    while (result := json.loads(await socket.recv()))["type"] != "result":
        pass
    assert result == {
        "type": "result",
        "ok": False,
        "message": "No se reasignó: esa persona del equipo no está conectada.",
    }
    await socket.send(json.dumps({"type": "reassign", "ticket": "s-not-handed-out", "to": None}))
    while (result := json.loads(await socket.recv()))["type"] != "result":
        pass
    assert result["message"] == "Ese chat ya no está abierto."
    await socket.close()
