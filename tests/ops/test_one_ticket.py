"""One effect per intent: however often and however fast "yes, connect me" arrives,
a person holds one place in line (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.helpline import Helpline
from bot.models import Ticket
from bot.states import TicketStatus
from tests.dialogue import Person


async def open_tickets(helpline: Helpline) -> list[Ticket]:
    async with helpline.sessions() as session:
        found = await session.exec(select(Ticket).where(col(Ticket.status) != TicketStatus.CLOSED))
        return list(found.all())


async def ready_to_consent(helpline: Helpline) -> Person:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send(choice="talk")
    return person


@pytest.mark.parametrize("taps", [2, 50])
async def test_taps_of_yes_at_once_open_one_ticket(helpline: Helpline, taps: int) -> None:
    person = await ready_to_consent(helpline)
    turns = await asyncio.gather(*(person.turn(choice="talk:yes") for _ in range(taps)))
    assert len(await open_tickets(helpline)) == 1
    # Every tap is told where they are in line; none is an error or silence.
    assert all(turn.replies for turn in turns)


async def test_leave_after_a_double_tap_leaves_nobody_waiting(helpline: Helpline) -> None:
    person = await ready_to_consent(helpline)
    await asyncio.gather(person.turn(choice="talk:yes"), person.turn(choice="talk:yes"))
    await person.send(choice="talk:leave")
    assert await open_tickets(helpline) == []


async def test_the_database_refuses_a_second_open_ticket(helpline: Helpline) -> None:
    person = await ready_to_consent(helpline)
    await person.send(choice="talk:yes")
    (ticket,) = await open_tickets(helpline)
    with pytest.raises(IntegrityError):
        async with helpline.sessions() as session, session.begin():
            session.add(
                Ticket(
                    contact_alias=ticket.contact_alias,
                    public_alias="second",
                    channel=ticket.channel,
                    language="en",
                    country="US",
                )
            )
