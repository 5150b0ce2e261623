"""Discreet mode holds: once on, no menu or reply names what the line is about."""

import re

import pytest

from bot.helpline import Helpline
from bot.i18n import catalogue
from tests.conftest import FrozenClock
from tests.dialogue import Person, first_waiting_claimed

ALARMING = re.compile(
    r"hotline|help line|helpline|traffick|advocate|shelter|\bsex|abuse|escape|exploit"
    r"|under 18|leaving|safety|staying safe|emergency|danger|police",
    re.IGNORECASE,
)


async def walk_every_menu(person: Person) -> list[str]:
    """Visit each main-menu entry and its sub-menus as a person would; return all replies."""
    seen: list[str] = []
    steps = [
        "1",
        "menu",  # numbers
        "2",
        "menu",  # tips (the list of topics)
        "3",
        "1",
        "menu",  # places: a need, then "where?"
        "help",
        "4",
        "2",  # chat: the question, then "not now"
        "4",
        "1",  # chat: yes, in line
    ]
    for step in steps:
        seen += await person.send(step)
    return seen


def alarming(replies: list[str]) -> list[str]:
    return [reply for reply in replies if ALARMING.search(reply)]


async def test_the_menus_name_nothing_alarming_once_discreet_mode_is_on(
    helpline: Helpline,
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send("6")
    assert alarming(await walk_every_menu(person)) == []


async def test_without_discreet_mode_the_same_walk_names_the_line(helpline: Helpline) -> None:
    """The check above can fail: the normal wording does use these words."""
    person = Person(helpline, country="US")
    await person.send("hello")
    assert alarming(await walk_every_menu(person))


async def test_discreet_mode_can_be_the_very_first_message(helpline: Helpline) -> None:
    person = Person(helpline, country="US")
    replies = await person.send("discreet")
    assert alarming(replies) == []
    assert alarming(await person.send("1")) == []


@pytest.mark.parametrize("leave", ["exit", "delete"])
async def test_discreet_mode_survives_the_quick_exit_and_delete(
    helpline: Helpline, leave: str
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send("6")
    assert (await person.turn(leave)).end_session
    replies = await person.send("hello")
    assert alarming(replies) == []
    assert alarming(await person.send("1")) == []


async def test_discreet_mode_survives_an_idle_close(helpline: Helpline, clock: FrozenClock) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send("6")
    clock.advance(minutes=16)
    replies = await person.send("hello")
    assert alarming(replies) == []
    assert alarming(await person.send("1")) == []


async def test_the_message_sent_when_someone_answers_keeps_discreet_wording(
    helpline: Helpline,
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send(choice="discreet")
    await person.send(choice="talk")
    await person.send(choice="talk:yes")
    await first_waiting_claimed(helpline)
    words = catalogue("en")
    assert person.pop_pushed()[-1] == words.text("talk.connected", discreet=True)
    assert words.text("talk.connected", discreet=True) != words.text("talk.connected")
