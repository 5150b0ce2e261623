"""Retention: the purge forgets on schedule, with a clock the test moves by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import select

from bot.accounts import add_advocate
from bot.cli import main
from bot.counts import daily_report
from bot.helpline import Helpline
from bot.models import AuditEvent, ChatMessageId, Contact, SeenMessage, Ticket, utcnow
from bot.retention import purge
from bot.states import TicketStatus
from bot.types import Channel
from tests.conftest import FrozenClock, make_settings, prepare_database
from tests.dialogue import Person
from tests.privacy.canaries import RecordingSender


async def _rows(helpline: Helpline, model: type) -> list[object]:
    async with helpline.sessions() as session:
        return list((await session.exec(select(model))).all())


async def test_a_persons_state_is_forgotten_a_day_after_their_last_message(
    helpline: Helpline, clock: FrozenClock
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    clock.advance(hours=20)
    await person.send("1")
    clock.advance(hours=23)
    assert (await purge(helpline)).contacts == 0
    assert len(await _rows(helpline, Contact)) == 1
    clock.advance(hours=2)
    assert (await purge(helpline)).contacts == 1
    assert await _rows(helpline, Contact) == []
    # Writing again is a first contact: the welcome, not the old menu.
    assert "This is a help line" in (await person.send("hello"))[0]


async def test_a_chat_left_open_is_closed_silently_and_its_address_erased(
    helpline: Helpline, clock: FrozenClock
) -> None:
    carrier = RecordingSender()
    helpline.senders.register(Channel.SIMULATOR, carrier)
    advocate, _ = await add_advocate(
        helpline.sessions, helpline.sealer("totp-secret"), name="a", password="x" * 12
    )
    assert advocate.id is not None
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send(choice="talk")
    await person.send(choice="talk:yes")
    (ticket,) = await _rows(helpline, Ticket)
    assert isinstance(ticket, Ticket) and ticket.id is not None
    assert ticket.address_ciphertext is not None
    await helpline.queue.claim(ticket_id=ticket.id, advocate_id=advocate.id)
    sent_before = len(carrier.sent)
    clock.advance(hours=25)  # the advocate never closed it; the person went silent

    report = await purge(helpline)

    assert report.tickets_closed == 1
    assert report.contacts == 1
    (closed,) = await _rows(helpline, Ticket)
    assert isinstance(closed, Ticket)
    assert closed.status == TicketStatus.CLOSED
    assert closed.address_ciphertext is None
    assert closed.contact_alias is None
    assert closed.outcomes == "expired"
    assert len(carrier.sent) == sent_before, "nothing is sent after a session is over"


async def test_an_ongoing_chat_is_not_closed_by_the_purge(
    helpline: Helpline, clock: FrozenClock
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send(choice="talk")
    await person.send(choice="talk:yes")
    clock.advance(hours=23)
    await person.send("still here")  # refreshes the person's state and the address
    clock.advance(hours=2)  # the ticket is older than the person window; the person is not
    assert (await purge(helpline)).tickets_closed == 0
    (ticket,) = await _rows(helpline, Ticket)
    assert isinstance(ticket, Ticket) and ticket.address_ciphertext is not None


async def test_closed_tickets_go_after_thirty_days_and_their_outcomes_stay_as_counts(
    helpline: Helpline, clock: FrozenClock
) -> None:
    day = clock.now.date()
    for _ in range(5):
        person = Person(helpline, country="US")
        await person.send("hello")
        await person.send(choice="talk")
        await person.send(choice="talk:yes")
        await person.send(choice="talk:leave")
    await helpline.counts.flush(helpline.sessions)
    clock.advance(days=29)
    assert (await purge(helpline)).tickets == 0
    assert len(await _rows(helpline, Ticket)) == 5
    clock.advance(days=2)

    assert (await purge(helpline)).tickets == 5

    assert await _rows(helpline, Ticket) == []
    report = await daily_report(helpline.sessions, day)
    left = [row for row in report if row.metric == "outcome:left"]
    assert [(row.day, row.count) for row in left] == [(day, 5)]


async def test_audit_events_go_after_ninety_days(helpline: Helpline, clock: FrozenClock) -> None:
    async with helpline.sessions() as session, session.begin():
        session.add(AuditEvent(at=clock.now, action="login"))
        session.add(AuditEvent(at=clock.now - dt.timedelta(days=91), action="login"))
    assert (await purge(helpline)).audit_events == 1
    (kept,) = await _rows(helpline, AuditEvent)
    assert isinstance(kept, AuditEvent)


async def test_message_ids_expire_and_telegram_ids_go_after_48_hours(
    helpline: Helpline, clock: FrozenClock
) -> None:
    async with helpline.sessions() as session, session.begin():
        session.add(SeenMessage(key="sms:SM1", expires_at=clock.now + dt.timedelta(hours=2)))
        session.add(ChatMessageId(alias="a" * 64, message_id=1, sent_at=clock.now))
    clock.advance(hours=3)
    report = await purge(helpline)
    assert (report.seen_messages, report.chat_message_ids) == (1, 0)
    clock.advance(hours=46)
    assert (await purge(helpline)).chat_message_ids == 1
    assert await _rows(helpline, ChatMessageId) == []


@pytest.fixture
def sqlite_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("HELPLINE_DATABASE_URL", url)
    monkeypatch.setenv("HELPLINE_SECRET_KEY", "cli-test-secret-key-long-enough-0123456789")
    monkeypatch.setenv("HELPLINE_MODE", "serve")
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return url


def test_helpline_purge_prints_counts_only(
    sqlite_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from bot.helpline import build_helpline

    async def plant() -> None:
        await prepare_database(sqlite_env)
        helpline = build_helpline(make_settings(sqlite_env))
        old = utcnow() - dt.timedelta(days=2)
        async with helpline.sessions() as session, session.begin():
            for n in range(3):
                session.add(
                    Contact(
                        alias=f"{n:064d}", channel="sms", language="en", country="US", last_seen=old
                    )
                )
            session.add(Contact(alias="f" * 64, channel="sms", language="en", country="US"))
        await helpline.db.dispose()

    asyncio.run(plant())
    assert main(["purge"]) == 0
    out = capsys.readouterr().out
    assert "contacts: 3\n" in out
    assert "f" * 64 not in out and "0" * 64 not in out
