"""The router refuses, at start-up, words that lead nowhere."""

import pytest

from bot.payloads import Payload, Topic
from bot.router import Router
from bot.understanding import Intent
from handlers import build_router
from handlers.fallback import not_understood
from handlers.start import menu, welcome


def test_the_shipped_topics_register_cleanly() -> None:
    build_router()  # router.check() runs inside


def test_a_keyword_list_that_points_at_a_topic_nobody_handles_is_refused() -> None:
    fresh = Router()
    fresh.action(Topic.START, welcome)
    fresh.action(Topic.MENU, menu)
    fresh.action(Topic.FALLBACK, not_understood)
    fresh.keywords("keywords.talk", Payload(Topic.TALK))
    with pytest.raises(ValueError, match="talk"):
        fresh.check()


def test_the_same_intent_cannot_be_claimed_twice_in_one_state() -> None:
    router = Router()
    router.intent(Intent.TALK, Payload(Topic.TALK))
    with pytest.raises(ValueError):
        router.intent(Intent.TALK, Payload(Topic.HOTLINES))


def test_button_data_with_an_unknown_topic_is_not_a_payload() -> None:
    assert Payload.parse("services:need:shelter") == Payload(Topic.SERVICES, "need:shelter")
    assert Payload.parse("sevrices:need:shelter") is None
    assert str(Payload(Topic.TALK, "yes")) == "talk:yes"
