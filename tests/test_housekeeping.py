"""The periodic housekeeping: an expired place in line is closed silently; old state goes."""

from sqlmodel import select

from bot.helpline import Helpline
from bot.models import Contact, Ticket
from bot.states import TicketStatus
from bot.tasks import Housekeeping
from tests.conftest import FrozenClock
from tests.dialogue import Person


async def test_a_place_kept_too_long_is_closed_and_nothing_is_sent(
    helpline: Helpline, clock: FrozenClock
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send(choice="talk")
    await person.send(choice="talk:yes")
    clock.advance(seconds=helpline.settings.queue_hold_seconds + 1)
    await Housekeeping(helpline).run_once()
    async with helpline.sessions() as session:
        tickets = (await session.exec(select(Ticket))).all()
    assert [t.status for t in tickets] == [TicketStatus.CLOSED]
    assert tickets[0].address_ciphertext is None
    assert person.pushed == []


async def test_the_inbox_that_checks_nothing_is_sent_does_see_later_messages(
    helpline: Helpline,
) -> None:
    """The check above can fail: a message sent outside a reply lands in the same inbox."""
    from bot.accounts import TOTP_PURPOSE, add_advocate

    advocate, _ = await add_advocate(
        helpline.sessions, helpline.sealer(TOTP_PURPOSE), name="ana", password="a-long-password-1"
    )
    assert advocate.id is not None
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send(choice="talk")
    await person.send(choice="talk:yes")
    entries = await helpline.queue.entries()
    await helpline.queue.claim(ticket_id=entries[0].id, advocate_id=advocate.id)
    assert len(person.pop_pushed()) == 1  # told that a person is there
    await helpline.queue.send_to_person(
        ticket_id=entries[0].id, advocate_id=advocate.id, text="hello, I am here"
    )
    assert person.pop_pushed() == ["hello, I am here"]


async def test_a_persons_state_is_purged_a_day_after_their_last_message(
    helpline: Helpline, clock: FrozenClock
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    alias = await person.alias()
    clock.advance(hours=helpline.settings.retention_person_hours, minutes=1)
    await Housekeeping(helpline).run_once()
    async with helpline.sessions() as session:
        assert await session.get(Contact, alias) is None
