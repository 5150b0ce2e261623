"""Scripted dialogues in Spanish, Chinese, Arabic and Ukrainian.

Expected wording is read from each language's catalogue (the translators' text), and
every number from the hotline directory; the tests check that the bot picks the
language, walks the menu, answers danger first, exits quietly and closes when idle.
"""

import pytest

from bot.helpline import Helpline
from bot.hotlines import directory
from bot.i18n import catalogue
from tests.conftest import FrozenClock
from tests.dialogue import Person


def words(code: str, key: str, **params: str) -> str:
    return catalogue(code).text(key, **params)


def first_line(text: str) -> str:
    return text.split("{", 1)[0].strip()


LANGUAGES = [
    # (language, what the person first writes, phone country or None, a danger phrase)
    ("es", "hola", "MX", "tiene una pistola"),
    ("zh", "你好", None, "救命，他有枪"),
    ("ar", "مرحبا", None, "ساعدوني معه سكين"),
    ("uk", "привіт", "UA", "допоможіть зараз, у нього ніж"),
]


@pytest.mark.parametrize(("code", "greeting", "country", "danger"), LANGUAGES)
async def test_language_is_picked_from_the_first_message(
    helpline: Helpline, code: str, greeting: str, country: str | None, danger: str
) -> None:
    person = Person(helpline, country=country)
    replies = await person.send(greeting)
    assert first_line(catalogue(code).raw("welcome")) in replies[0]
    assert catalogue(code).raw("option.hotlines") in replies[1]
    assert replies[1].splitlines()[1].startswith("1 ")


@pytest.mark.parametrize(("code", "greeting", "country", "danger"), LANGUAGES)
async def test_menu_walk_reaches_hotline_numbers_in_the_persons_language(
    helpline: Helpline, code: str, greeting: str, country: str | None, danger: str
) -> None:
    person = Person(helpline, country=country)
    await person.send(greeting)
    replies = await person.send("1")
    if country is None:
        # Nobody said where they are: the numbers every mobile dials, never a default country's.
        assert "112" in replies[0] and "911" in replies[0]
        assert not any(n.dial in replies[0] for n in directory().countries["US"].lines)
        return
    expected_country = directory().country(country)
    for line in expected_country.shown_lines():
        assert line.dial in replies[0]
    assert catalogue(code).country_name(expected_country.code) in replies[0]


@pytest.mark.parametrize(("code", "greeting", "country", "danger"), LANGUAGES)
async def test_danger_words_answered_first_with_the_countrys_emergency_number(
    helpline: Helpline, code: str, greeting: str, country: str | None, danger: str
) -> None:
    person = Person(helpline, country=country)
    await person.send(greeting)
    await person.send("2")
    replies = await person.send(danger)
    expected = directory().country(country).urgent_number()
    emergency = expected.dial if expected is not None else "112 / 911"
    assert replies[0] == words(code, "danger.reply", emergency=emergency)


@pytest.mark.parametrize(("code", "greeting", "country", "danger"), LANGUAGES)
async def test_quick_exit_in_the_persons_language(
    helpline: Helpline, code: str, greeting: str, country: str | None, danger: str
) -> None:
    person = Person(helpline, country=country)
    await person.send(greeting)
    exit_word = catalogue(code).first_word("keywords.exit")
    replies = await person.send(exit_word.lower())
    assert replies == [words(code, "exit.reply")]


@pytest.mark.parametrize(("code", "greeting", "country", "danger"), LANGUAGES)
async def test_idle_close_then_a_fresh_welcome(
    helpline: Helpline,
    clock: FrozenClock,
    code: str,
    greeting: str,
    country: str | None,
    danger: str,
) -> None:
    person = Person(helpline, country=country)
    await person.send(greeting)
    await person.send("2")
    clock.advance(minutes=15, seconds=1)
    replies = await person.send("1")
    assert first_line(catalogue(code).raw("welcome")) in replies[0]


async def test_telegram_language_code_picks_the_language_when_the_text_does_not(
    helpline: Helpline,
) -> None:
    person = Person(helpline, language_code="pt-br")
    replies = await person.send("ok")
    assert first_line(catalogue("pt").raw("welcome")) in replies[0]


async def test_phone_country_picks_the_language_when_the_text_does_not(helpline: Helpline) -> None:
    person = Person(helpline, country="TH")
    replies = await person.send("ok")
    assert first_line(catalogue("th").raw("welcome")) in replies[0]
    assert "1300" in replies[0] or "191" in replies[0]


async def test_arabic_replies_are_marked_right_to_left(helpline: Helpline) -> None:
    person = Person(helpline)
    turn = await person.turn("مرحبا")
    assert {reply.direction for reply in turn.replies} == {"rtl"}


@pytest.mark.parametrize(
    "code", ["en", "es", "pt", "fr", "ro", "uk", "ru", "zh", "vi", "tl", "th", "ar"]
)
async def test_every_language_can_be_chosen_and_answers_in_it(
    helpline: Helpline, code: str
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send("language")
    replies = await person.send(choice=f"lang:{code}")
    assert replies[0] == words(code, "language.set")
    assert catalogue(code).raw("option.safety") in replies[1]


async def test_numbers_in_arabic_replies_stay_in_one_left_to_right_piece(
    helpline: Helpline,
) -> None:
    person = Person(helpline, country="US")
    await person.send("مرحبا")
    replies = await person.send("1")
    nhth = directory().numbers["us-nhth"]
    assert f"\u2066{nhth.call}\u2069" in replies[0]
    english = Person(helpline, country="US")
    await english.send("hello")
    assert "\u2066" not in (await english.send("1"))[0]
