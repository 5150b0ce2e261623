"""Scripted dialogues in English: the menu, the numbers, danger first, leaving fast."""

from bot.helpline import Helpline
from bot.hotlines import directory
from tests.conftest import FrozenClock
from tests.dialogue import Person


async def test_first_message_gets_welcome_with_emergency_number_then_menu(
    helpline: Helpline,
) -> None:
    person = Person(helpline, country="US")
    replies = await person.send("hello")
    assert len(replies) == 2
    assert "automatic" in replies[0] and "not the police" in replies[0]
    assert "never sees your number" in replies[0]
    assert "free" not in replies[0].casefold()
    assert "911" in replies[0]
    assert "EXIT" in replies[0]
    assert "1 Hotline numbers" in replies[1]
    assert "4 Talk to a person" in replies[1]


async def test_hotline_numbers_come_from_the_directory_for_the_persons_country(
    helpline: Helpline,
) -> None:
    person = Person(helpline, country="US")
    await person.send("hi")
    replies = await person.send("1")
    us = directory().countries["US"]
    nhth = next(n for n in us.lines if n.id == "us-nhth")
    assert nhth.call is not None and nhth.call in replies[0]
    # The text shortcode is flagged in the research notes, so it is not shown.
    assert "233733" not in replies[0]


async def test_another_country_can_be_chosen_by_typing_its_name(helpline: Helpline) -> None:
    person = Person(helpline, country="US")
    await person.send("hi")
    await person.send("1")
    await person.send("1")  # Another country
    replies = await person.send("Philippines")
    assert "1343" in replies[0]


async def test_danger_words_get_the_emergency_number_first_in_any_state(helpline: Helpline) -> None:
    person = Person(helpline, country="GB")
    await person.send("hello")
    await person.send("2")  # safety menu
    replies = await person.send("he has a gun, please")
    assert "999" in replies[0]
    assert replies[0].startswith("If you are in danger now")


async def test_danger_on_the_very_first_message_comes_before_the_welcome(
    helpline: Helpline,
) -> None:
    person = Person(helpline, country="AU")
    replies = await person.send("help me now")
    assert "000" in replies[0]
    assert "danger" in replies[0]


async def test_quick_exit_replies_innocuously_and_forgets_the_person(helpline: Helpline) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send("4")
    replies = await person.send("EXIT")
    assert replies == ["Thanks for your message. Have a nice day!"]
    # Next message is a brand-new session: the welcome again.
    replies = await person.send("hello")
    assert replies[0].startswith("This is a help line.")


async def test_exit_word_is_never_a_carrier_opt_out_word(helpline: Helpline) -> None:
    from bot.i18n import catalogue, language_codes

    carrier = {"stop", "end", "quit", "cancel", "unsubscribe", "stopall", "revoke", "optout"}
    for code in language_codes():
        assert not carrier & set(catalogue(code).words("keywords.exit")), code


async def test_safety_topics_are_reachable_by_number(helpline: Helpline) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    menu = await person.send("2")
    assert "1 Is this OK?" in menu[0] and "2 Phone safety" in menu[0]
    advice = await person.send("2")
    # Choices, not orders: deleting is weighed, never required.
    assert "If it is safe, you could" in advice[0]
    assert "think before you delete" in advice[0]
    assert "after each message" not in advice[0]


async def test_unrecognised_text_gets_a_kind_reply_and_the_menu_never_an_error(
    helpline: Helpline,
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    replies = await person.send("asdfghjkl")
    assert replies[0].startswith("This is an automatic helper.")
    assert "Talk to a person" in replies[0] and "911" in replies[0]
    assert "1 Hotline numbers" in replies[1]


async def test_unknown_language_falls_back_to_english_with_a_language_menu(
    helpline: Helpline,
) -> None:
    person = Person(helpline)
    replies = await person.send("zzzz qqqq")
    assert replies[0].startswith("This is a help line.")
    assert "Choose your language" in replies[1]
    assert "Español" in replies[1] and "العربية" in replies[1]


async def test_language_can_be_changed_from_the_menu(helpline: Helpline) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send("language")
    replies = await person.send("2")  # Español
    assert "español" in replies[0].casefold()


async def test_discreet_mode_uses_plain_words(helpline: Helpline) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    replies = await person.send("6")
    assert "Plain mode is on" in replies[0] and "Not all of them" in replies[0]
    assert "Hotline" not in replies[1]
    assert "Useful numbers" in replies[1]


async def test_session_closes_after_fifteen_silent_minutes(
    helpline: Helpline, clock: FrozenClock
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send("2")
    clock.advance(minutes=16)
    replies = await person.send("1")
    # The old safety menu is gone: a new session starts with the welcome.
    assert replies[0].startswith("This is a help line.")


async def test_redelivered_message_does_nothing_twice(helpline: Helpline) -> None:
    person = Person(helpline, country="US")
    first = await person.send("hello", message_id="SM1")
    again = await person.send("hello", message_id="SM1")
    assert first and again == []
