"""Words inside a live chat: goodbyes go to the person, only unusual words end it."""

import pytest

from bot.helpline import Helpline
from bot.i18n import catalogue
from bot.models import Contact, Ticket
from bot.states import TicketStatus
from tests.dialogue import Person, first_waiting_claimed

GREETING = {"en": "hello", "es": "hola", "fr": "bonjour", "ru": "привет"}
COUNTRY = {"en": "US", "es": "MX", "fr": "FR", "ru": None}


async def in_live_chat(helpline: Helpline, code: str = "en") -> tuple[Person, int]:
    person = Person(helpline, country=COUNTRY[code])
    await person.send(GREETING[code])
    await person.send(choice="talk")
    await person.send(choice="talk:yes")
    return person, await first_waiting_claimed(helpline)


async def status(helpline: Helpline, ticket_id: int) -> TicketStatus:
    async with helpline.sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None
    return ticket.status


@pytest.mark.parametrize(
    ("code", "goodbye"), [("en", "bye"), ("es", "chao"), ("fr", "au revoir"), ("ru", "пока")]
)
async def test_a_goodbye_in_a_live_chat_is_said_to_the_person_not_a_quick_exit(
    helpline: Helpline, code: str, goodbye: str
) -> None:
    person, ticket_id = await in_live_chat(helpline, code)
    turn = await person.turn(goodbye)
    assert not turn.end_session
    assert turn.replies == ()  # passed on to the advocate, no cover text
    assert await status(helpline, ticket_id) == TicketStatus.ACTIVE


async def test_the_same_goodbye_outside_a_live_chat_is_still_the_quick_exit(
    helpline: Helpline,
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    assert (await person.turn("bye")).end_session


async def test_leave_alone_does_not_end_a_live_chat(helpline: Helpline) -> None:
    person, ticket_id = await in_live_chat(helpline)
    await person.send("leave")
    assert await status(helpline, ticket_id) == TicketStatus.ACTIVE


async def test_the_end_chat_words_end_it(helpline: Helpline) -> None:
    person, ticket_id = await in_live_chat(helpline)
    replies = await person.send("close chat")
    assert replies[0] == catalogue("en").text("talk.left")
    assert await status(helpline, ticket_id) == TicketStatus.CLOSED


async def test_the_exit_word_still_works_in_a_live_chat(helpline: Helpline) -> None:
    person, ticket_id = await in_live_chat(helpline)
    assert (await person.turn("exit")).end_session
    assert await status(helpline, ticket_id) == TicketStatus.CLOSED


async def test_delete_in_a_live_chat_ends_it_and_erases(helpline: Helpline) -> None:
    person, ticket_id = await in_live_chat(helpline)
    alias = await person.alias()
    turn = await person.turn("delete")
    assert turn.end_session and turn.forget_chat
    assert await status(helpline, ticket_id) == TicketStatus.CLOSED
    async with helpline.sessions() as session:
        assert await session.get(Contact, alias) is None


async def test_what_is_written_while_waiting_is_plainly_not_passed_on(
    helpline: Helpline,
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send(choice="talk")
    await person.send(choice="talk:yes")
    replies = await person.send("my boss is at the door, please hurry")
    assert replies == [catalogue("en").text("talk.waiting_not_passed")]


async def test_when_nobody_is_online_no_wait_is_promised_in_minutes(helpline: Helpline) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send(choice="talk")
    replies = await person.send(choice="talk:yes")
    assert not any(" min." in reply and "wait" in reply for reply in replies)
    assert replies[-1].startswith(catalogue("en").raw("talk.queued.no_wait").split("{")[0])
