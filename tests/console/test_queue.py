"""The advocate side of the queue, straight through bot/queue.py on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.accounts import TOTP_PURPOSE, add_advocate, mark_online
from bot.helpline import Helpline
from bot.i18n import catalogue
from bot.models import Contact, Ticket
from bot.queue import TicketError, send_queue_updates
from bot.relay import ticket_topic
from bot.states import Role, State, TicketStatus
from bot.types import Channel
from tests.conftest import FrozenClock
from tests.console.conftest import PASSWORD, Phone
from tests.dialogue import Person


@pytest.fixture
def phone(helpline: Helpline) -> Phone:
    recording = Phone()
    helpline.senders.register(Channel.SIMULATOR, recording)
    return recording


async def advocate(helpline: Helpline, name: str, role: Role = Role.ADVOCATE) -> int:
    created, _ = await add_advocate(
        helpline.sessions, helpline.sealer(TOTP_PURPOSE), name=name, password=PASSWORD, role=role
    )
    assert created.id is not None
    return created.id


async def join_line(
    helpline: Helpline, clock: FrozenClock, country: str = "US"
) -> tuple[Person, int]:
    """A person asks for an advocate and consents; return them and their ticket id."""
    person = Person(helpline, country=country)
    await person.send("hello")
    await person.send(choice="talk")
    replies = await person.send(choice="talk:yes")
    assert any("in line" in reply for reply in replies)
    # Distinct arrival times; kept behind real time because claims stamp real time.
    clock.advance(milliseconds=1)
    async with helpline.sessions() as session:
        contact = await session.get(Contact, await person.alias())
        assert contact is not None and contact.ticket_id is not None
        return person, contact.ticket_id


async def test_two_advocates_claiming_together_exactly_one_wins(
    helpline: Helpline, clock: FrozenClock, phone: Phone
) -> None:
    ana, bea = await advocate(helpline, "ana"), await advocate(helpline, "bea")
    for _ in range(5):
        person, ticket_id = await join_line(helpline, clock)
        results = await asyncio.gather(
            helpline.queue.claim(ticket_id=ticket_id, advocate_id=ana),
            helpline.queue.claim(ticket_id=ticket_id, advocate_id=bea),
            return_exceptions=True,
        )
        won = [r for r in results if isinstance(r, Ticket)]
        lost = [r for r in results if isinstance(r, TicketError)]
        assert len(won) == 1 and len(lost) == 1
        async with helpline.sessions() as session:
            ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.advocate_id == won[0].advocate_id
        connected = [
            t for t in phone.texts(person.user_id) if "now talking with a trained person" in t
        ]
        assert len(connected) == 1


async def test_closing_sends_one_message_then_nothing_more(
    helpline: Helpline, clock: FrozenClock, phone: Phone
) -> None:
    ana = await advocate(helpline, "ana")
    person, ticket_id = await join_line(helpline, clock)
    await helpline.queue.claim(ticket_id=ticket_id, advocate_id=ana)
    assert await helpline.queue.send_to_person(ticket_id=ticket_id, advocate_id=ana, text="hi")
    await asyncio.gather(
        helpline.queue.close(ticket_id=ticket_id, advocate_id=ana, outcomes=["hotline_given"]),
        helpline.queue.close(ticket_id=ticket_id, advocate_id=ana, outcomes=["misuse"]),
        return_exceptions=True,
    )
    closing = [t for t in phone.texts(person.user_id) if "chat has ended" in t]
    assert len(closing) == 1
    with pytest.raises(TicketError):
        await helpline.queue.send_to_person(ticket_id=ticket_id, advocate_id=ana, text="still?")
    async with helpline.sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None
    assert ticket.status == TicketStatus.CLOSED
    assert ticket.address_ciphertext is None
    assert ticket.outcomes in ("hotline_given", "misuse")


async def test_only_the_owner_or_a_supervisor_may_transfer_or_close(
    helpline: Helpline, clock: FrozenClock, phone: Phone
) -> None:
    ana, bea = await advocate(helpline, "ana"), await advocate(helpline, "bea")
    sam = await advocate(helpline, "sam", Role.SUPERVISOR)
    person, ticket_id = await join_line(helpline, clock)
    await helpline.queue.claim(ticket_id=ticket_id, advocate_id=ana)
    with pytest.raises(TicketError):
        await helpline.queue.transfer(ticket_id=ticket_id, advocate_id=bea, to_advocate=bea)
    with pytest.raises(TicketError):
        await helpline.queue.close(ticket_id=ticket_id, advocate_id=bea, outcomes=["misuse"])
    await mark_online(helpline.sessions, bea, clock.now + dt.timedelta(minutes=1))
    await helpline.queue.transfer(
        ticket_id=ticket_id, advocate_id=sam, to_advocate=bea, supervisor=True
    )
    assert await helpline.queue.send_to_person(ticket_id=ticket_id, advocate_id=bea, text="hello")
    # The advocate the chat was taken from can no longer write to the person.
    with pytest.raises(TicketError):
        await helpline.queue.send_to_person(ticket_id=ticket_id, advocate_id=ana, text="ana here")
    assert not any("ana here" in text for text in phone.texts(person.user_id))
    await helpline.queue.transfer(ticket_id=ticket_id, advocate_id=bea, to_advocate=None)
    async with helpline.sessions() as session:
        contact = await session.get(Contact, await person.alias())
        ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None and ticket.status == TicketStatus.WAITING
    assert contact is not None and contact.state == State.QUEUED


async def test_the_console_learns_at_once_when_the_person_leaves_the_chat(
    helpline: Helpline, clock: FrozenClock, phone: Phone
) -> None:
    ana = await advocate(helpline, "ana")
    person, ticket_id = await join_line(helpline, clock)
    await helpline.queue.claim(ticket_id=ticket_id, advocate_id=ana)
    async with helpline.relay.subscribe(ticket_topic(ticket_id)) as events:
        await person.send("first words")
        assert (await events.get())["type"] == "message"
        await person.send("exit")
        async with asyncio.timeout(5):
            assert (await events.get()) == {"type": "left"}
    async with helpline.sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None and ticket.status == TicketStatus.CLOSED


async def test_people_in_line_hear_when_their_place_moves_a_lot_but_not_too_often(
    helpline: Helpline, clock: FrozenClock, phone: Phone
) -> None:
    ana = await advocate(helpline, "ana")
    line = [await join_line(helpline, clock) for _ in range(4)]
    last, _ = line[-1]
    assert await send_queue_updates(helpline) == 0  # nothing moved, and too soon anyway
    for _, ticket_id in line[:3]:
        await helpline.queue.claim(ticket_id=ticket_id, advocate_id=ana)
    assert await send_queue_updates(helpline) == 0  # moved, but the last notice was just now
    clock.advance(seconds=helpline.settings.queue_update_interval_seconds + 1)
    assert await send_queue_updates(helpline) == 1
    update = phone.texts(last.user_id)[-1]
    assert "number 1 in line" in update
    assert catalogue("en").first_word("keywords.leave_queue") in update.upper()  # how to stop
    clock.advance(seconds=helpline.settings.queue_update_interval_seconds + 1)
    assert await send_queue_updates(helpline) == 0  # place unchanged since: no news


async def test_the_leave_word_ends_a_live_chat_as_the_consent_message_promises(
    helpline: Helpline, clock: FrozenClock, phone: Phone
) -> None:
    ana = await advocate(helpline, "ana")
    person, ticket_id = await join_line(helpline, clock)
    async with helpline.relay.subscribe(ticket_topic(ticket_id)) as chat:
        await helpline.queue.claim(ticket_id=ticket_id, advocate_id=ana)
        await person.send("are you there?")
        assert (await asyncio.wait_for(chat.get(), 5))["type"] == "message"
        replies = await person.send("CLOSE CHAT")  # the word the consent message names
        assert (await asyncio.wait_for(chat.get(), 5))["type"] == "left"
    assert any("You stopped waiting." in reply for reply in replies)
    async with helpline.sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == TicketStatus.CLOSED
        assert ticket.address_ciphertext is None
    with pytest.raises(TicketError):
        await helpline.queue.send_to_person(ticket_id=ticket_id, advocate_id=ana, text="hello?")
