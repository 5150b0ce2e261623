"""Who a person is: keyed aliases whose keys are destroyed, sealed addresses erased on close."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import select

from bot.accounts import add_advocate
from bot.cli import main
from bot.counts import daily_report
from bot.crypto import DecryptionError, Sealer
from bot.helpline import Helpline
from bot.models import AliasKey, ChatMessageId, Contact, DailyCount, Ticket
from bot.queue import TicketError
from bot.retention import purge
from bot.states import TicketStatus
from bot.types import Channel
from tests.conftest import FrozenClock
from tests.dialogue import Person
from tests.privacy.canaries import RecordingSender


def _start_of_period(helpline: Helpline, clock: FrozenClock) -> None:
    period = helpline.settings.alias_key_rotation_hours * 3600
    start = (int(clock.now.timestamp()) // period + 1) * period
    clock.now = dt.datetime.fromtimestamp(start + 60, dt.UTC)


async def _epochs(helpline: Helpline) -> set[int]:
    async with helpline.sessions() as session:
        return set((await session.exec(select(AliasKey.epoch))).all())


async def test_after_the_window_an_old_alias_cannot_be_recomputed_even_with_the_secret(
    helpline: Helpline, clock: FrozenClock
) -> None:
    _start_of_period(helpline, clock)
    first_day = clock.now
    person = Person(helpline, channel=Channel.SMS, user_id="+15550001111", country="US")
    await person.send("hello")
    old_alias = await person.alias()
    day0 = helpline.aliases.epoch(first_day)

    clock.advance(hours=24)
    _, previous = await helpline.engine.identify(Channel.SMS, "+15550001111")
    assert previous == old_alias, "yesterday's key still links a conversation across rotation"
    assert (await purge(helpline)).alias_keys == 0
    assert day0 in await _epochs(helpline)

    clock.advance(hours=25)
    report = await purge(helpline)

    assert report.alias_keys == 1 and report.contacts == 1
    assert day0 not in await _epochs(helpline)
    # Someone holding the server and its secret asks again for that day's alias: the
    # key is gone, a fresh one is drawn, and the answer no longer matches.
    helpline.aliases.forget_cache()
    clock.now = first_day
    again, _ = await helpline.engine.identify(Channel.SMS, "+15550001111")
    assert again != old_alias
    async with helpline.sessions() as session:
        assert await session.get(Contact, old_alias) is None


async def test_a_key_stays_while_state_made_under_it_is_inside_the_window(
    helpline: Helpline, clock: FrozenClock
) -> None:
    _start_of_period(helpline, clock)
    clock.advance(hours=23, minutes=58)  # the last minutes of a period
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send("1")
    last_period = helpline.aliases.epoch(clock.now)
    clock.advance(hours=20)
    assert (await purge(helpline)).alias_keys == 0
    assert last_period in await _epochs(helpline)
    # The person's state carries over to the new period's alias instead of being orphaned.
    await person.send("hello")
    async with helpline.sessions() as session:
        contacts = (await session.exec(select(Contact.alias))).all()
    assert contacts == [await person.alias()]


async def test_the_reply_address_is_sealed_while_open_and_erased_on_close(
    helpline: Helpline,
) -> None:
    carrier = RecordingSender()
    helpline.senders.register(Channel.SMS, carrier)
    advocate, _ = await add_advocate(
        helpline.sessions, helpline.sealer("totp-secret"), name="adv", password="x" * 12
    )
    assert advocate.id is not None
    person = Person(helpline, channel=Channel.SMS, user_id="+15550002222", country="US")
    await person.send("hello")
    await person.send(choice="talk")
    await person.send(choice="talk:yes")
    async with helpline.sessions() as session:
        (ticket,) = (await session.exec(select(Ticket))).all()
    assert ticket.id is not None and ticket.address_ciphertext is not None
    assert b"5550002222" not in ticket.address_ciphertext
    assert ticket.public_alias and "5550002222" not in ticket.public_alias
    with pytest.raises(DecryptionError):
        Sealer.from_secret("another-server-secret-of-enough-length-000", "reply-address").open(
            ticket.address_ciphertext
        )

    await helpline.queue.claim(ticket_id=ticket.id, advocate_id=advocate.id)
    assert await helpline.queue.send_to_person(
        ticket_id=ticket.id, advocate_id=advocate.id, text="hi"
    )
    await helpline.queue.close(
        ticket_id=ticket.id, advocate_id=advocate.id, outcomes=["hotline_given"]
    )

    async with helpline.sessions() as session:
        closed = await session.get(Ticket, ticket.id)
    assert closed is not None and closed.status == TicketStatus.CLOSED
    assert closed.address_ciphertext is None and closed.contact_alias is None
    with pytest.raises(TicketError):
        await helpline.queue.send_to_person(
            ticket_id=ticket.id, advocate_id=advocate.id, text="more"
        )
    assert [text for _, text in carrier.sent][-1] != "more"


async def test_delete_erases_the_person_their_place_in_line_and_their_chat_ids(
    helpline: Helpline,
) -> None:
    person = Person(helpline, channel=Channel.TELEGRAM, user_id="7000000123", country="US")
    await person.send("hello")
    await person.send(choice="talk")
    await person.send(choice="talk:yes")
    alias = await person.alias()
    async with helpline.sessions() as session, session.begin():
        session.add(ChatMessageId(alias=alias, message_id=42))

    turn = await person.turn("delete")

    assert turn.end_session and turn.forget_chat
    async with helpline.sessions() as session:
        assert await session.get(Contact, alias) is None
        assert (await session.exec(select(ChatMessageId))).all() == []
        (ticket,) = (await session.exec(select(Ticket))).all()
    assert ticket.status == TicketStatus.CLOSED
    assert ticket.address_ciphertext is None and ticket.contact_alias is None
    assert "This is a help line" in (await person.send("hello"))[0]


async def test_counts_under_five_are_never_shown(helpline: Helpline, clock: FrozenClock) -> None:
    day = clock.now.date()
    async with helpline.sessions() as session, session.begin():
        session.add(DailyCount(day=day, channel="sms", language="en", metric="message", count=4))
        session.add(DailyCount(day=day, channel="sms", language="en", metric="topic:talk", count=5))
    rows = {row.metric: row for row in await daily_report(helpline.sessions, day)}
    assert rows["message"].count is None and rows["message"].shown == "<5"
    assert rows["topic:talk"].count == 5


def test_helpline_report_prints_suppressed_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from bot.helpline import build_helpline
    from bot.models import utcnow
    from tests.conftest import make_settings, prepare_database

    url = f"sqlite+aiosqlite:///{tmp_path}/report.db"
    monkeypatch.setenv("HELPLINE_DATABASE_URL", url)
    monkeypatch.setenv("HELPLINE_SECRET_KEY", "cli-test-secret-key-long-enough-0123456789")
    monkeypatch.chdir(tmp_path)

    async def plant() -> None:
        await prepare_database(url)
        helpline = build_helpline(make_settings(url))
        async with helpline.sessions() as session, session.begin():
            for metric, count in (("message", 3), ("topic:hotlines", 12)):
                session.add(
                    DailyCount(
                        day=utcnow().date(),
                        channel="sms",
                        language="es",
                        metric=metric,
                        count=count,
                    )
                )
        await helpline.db.dispose()

    asyncio.run(plant())
    assert main(["report", "--days", "7"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "day,channel,language,metric,count"
    assert any(line.endswith(",sms,es,message,<5") for line in lines)
    assert any(line.endswith(",sms,es,topic:hotlines,12") for line in lines)
