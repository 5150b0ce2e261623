"""Safety topics as a person meets them: choices not orders, lines named from the directory."""

import pytest

from bot.helpline import Helpline
from bot.hotlines import directory
from bot.i18n import catalogue
from bot.line_words import fact_keys, is_support_line
from handlers.safety import MORE_TOPICS, TOPICS
from tests.dialogue import Person

EN = catalogue("en")


async def _under18(helpline: Helpline, country: str) -> str:
    person = Person(helpline, country=country)
    await person.send("hello")
    await person.send("2")  # safety menu
    replies = await person.send(choice="safety:under18")
    return replies[0]


@pytest.mark.parametrize("country", ["US", "FR", "DE"])
async def test_under_18_names_a_youth_support_line_not_a_reporting_or_missing_children_line(
    helpline: Helpline, country: str
) -> None:
    reply = await _under18(helpline, country)
    lines = directory().countries[country].lines
    named = [n for n in lines if n.dial in reply]
    assert named, reply
    for line in named:
        assert is_support_line(line), line.name
        assert line.name in reply  # the service is named, not only a bare number
    # Neither NCMEC's CyberTipline nor 116 000 (missing children) is offered to talk to.
    assert "CyberTipline" not in reply and "116 000" not in reply
    # No force is needed for it to be abuse, and survival sex and forced crime are named.
    assert "even if you said yes" in reply and "a place to stay" in reply and "steal" in reply


async def test_under_18_says_honestly_what_a_line_may_pass_on_before_details(
    helpline: Helpline,
) -> None:
    person = Person(helpline, country="GB")
    await person.send("hello")
    await person.send("2")
    replies = await person.send(choice="safety:under18")
    assert replies[1].startswith("Before you share details")
    assert "may have to tell someone" in replies[1]
    assert "Pick a topic" in replies[-1]


async def test_the_self_check_is_first_and_asks_without_labels(helpline: Helpline) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    menu = await person.send("2")
    assert menu[0].splitlines()[1] == "1 Is this OK?"
    replies = await person.send("1")
    assert "passport" in replies[0] and "debt" in replies[0]
    assert "trafficked" not in " ".join(replies).casefold()
    assert "men, women, trans people" in replies[1]


async def test_every_more_topic_is_reachable_by_number_and_returns_to_its_menu(
    helpline: Helpline,
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send("2")
    more = await person.send(str(len(TOPICS) + 1))  # "More topics"
    assert more[0].startswith("More topics")
    for number, topic in enumerate(MORE_TOPICS, start=1):
        replies = await person.send(str(number))
        assert len(replies) <= 3, topic  # at most two texts, then the menu
        assert replies[0].startswith(EN.raw(f"topic.{topic}").split("{")[0][:40]), topic
        assert replies[-1].startswith("More topics"), topic
    back = await person.send(str(len(MORE_TOPICS) + 1))
    assert back[0].startswith("Staying safe")


async def test_crisis_topic_names_the_crisis_line_from_the_directory(helpline: Helpline) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send("2")
    await person.send(choice="safety:more")
    replies = await person.send(choice="safety:crisis")
    crisis = directory().numbers["us-988"]
    assert f"{crisis.name}: {crisis.dial}" in replies[0]


async def test_phone_safety_offers_choices_and_weighs_deleting(helpline: Helpline) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send("2")
    replies = await person.send(choice="safety:phone")
    assert "If it is safe, you could" in replies[0]
    assert "A missing chat can be noticed" in replies[0]
    assert "Delete this chat" not in replies[0]


def _country_whose_line_is_not_always_open() -> str | None:
    for code, country in directory().countries.items():
        line = country.main_line()
        if line is not None and "facts.open_always" not in fact_keys(line):
            return code
    return None


async def test_no_advocate_reply_claims_open_day_and_night_only_for_a_line_that_is(
    helpline: Helpline,
) -> None:
    us = Person(helpline, country="US")  # NHTH: hours = "24/7" in the directory
    await us.send("hello")
    await us.send(choice="talk")
    us_reply = " ".join(await us.send(choice="talk:yes"))
    assert "No one from our team is free" in us_reply
    assert "National Human Trafficking Hotline" in us_reply
    assert "open day and night" in us_reply

    other = _country_whose_line_is_not_always_open()
    if other is None:
        return  # every named line in the directory is open day and night
    person = Person(helpline, country=other)
    await person.send("hello")
    await person.send(choice="talk")
    reply = " ".join(await person.send(choice="talk:yes"))
    assert "No one from our team is free" in reply
    assert "open day and night" not in reply


@pytest.mark.parametrize(
    "code", ["en", "es", "pt", "fr", "ro", "uk", "ru", "zh", "vi", "tl", "th", "ar"]
)
def test_menu_entries_named_in_a_text_match_the_menu_the_person_sees(code: str) -> None:
    words = catalogue(code)
    for text_key, label_key in (
        ("fallback", "option.talk"),
        ("safety.under18.privacy", "safety.option.more"),
        ("topic.pay", "option.services"),
        ("topic.pay", "referrals.need.labour"),
    ):
        assert words.raw(label_key) in words.raw(text_key), (text_key, label_key)
