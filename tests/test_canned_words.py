"""Canned replies trainers use most, with lines and their facts from the directory."""

from bot.console.canned import canned_keys, canned_text
from bot.hotlines import directory
from bot.line_words import fact_keys


def test_the_replies_trainers_use_most_are_offered() -> None:
    keys = set(canned_keys())
    for key in (
        "canned.cannot_see",
        "canned.not_police",
        "canned.status",
        "canned.minor_first",
        "canned.handoff",
    ):
        assert key in keys


def test_cannot_see_gives_the_persons_emergency_number() -> None:
    text = canned_text("canned.cannot_see", "en", "GB", "US")
    assert "cannot send help" in text and "999" in text


def test_a_handoff_names_the_line_and_only_the_facts_its_entry_supports() -> None:
    nhth = directory().numbers["us-nhth"]
    us = canned_text("canned.handoff", "en", "US", "US")
    assert f"{nhth.name}: {nhth.call}" in us and "open day and night" in us
    # In every country: the claim is made exactly when the named line's entry supports it.
    for code, country in directory().countries.items():
        line = country.main_line()
        if line is None:
            continue
        text = canned_text("canned.handoff", "en", code, "US")
        assert line.name in text and "{" not in text, code
        assert ("open day and night" in text) == ("facts.open_always" in fact_keys(line)), code


def test_crisis_reply_uses_the_directorys_crisis_line() -> None:
    crisis = directory().numbers["us-988"]
    english = canned_text("canned.crisis", "en", "US", "US")
    assert crisis.name in english and f": {crisis.dial}." in english
    spanish = canned_text("canned.crisis", "es", "US", "US")
    assert crisis.dial in spanish and "{" not in spanish
