"""Welcome and the main menu."""

from collections.abc import Sequence

from bot.conversation import Conversation, Option, Router
from bot.payloads import Payload, Topic
from bot.states import State
from bot.understanding import Intent


def _main_options(discreet: bool) -> tuple[Option, ...]:
    return (
        Option(Payload(Topic.HOTLINES), "option.hotlines"),
        Option(Payload(Topic.SAFETY), "option.safety"),
        Option(Payload(Topic.SERVICES), "option.services"),
        Option(Payload(Topic.TALK), "option.talk"),
        Option(Payload(Topic.LANGUAGE), "option.language"),
        Option(
            Payload(Topic.DISCREET, "off" if discreet else "on"),
            "option.discreet_off" if discreet else "option.discreet_on",
        ),
    )


_MAIN_OPTIONS = {discreet: _main_options(discreet) for discreet in (False, True)}
"""Built once: the main menu is shown, or its numbers read, on most turns (its twelve
frozen objects cost about 10 µs to build)."""


def main_options(conversation: Conversation) -> Sequence[Option]:
    return _MAIN_OPTIONS[conversation.contact.discreet]


async def welcome(conversation: Conversation, quiet: str) -> None:
    """Say who we are, how to leave fast and the emergency number; then offer the menu.

    ``quiet``: only the welcome, because the first message already asked for something.
    """
    conversation.topic = conversation.topic or "start"
    conversation.say("welcome")
    if quiet:
        return
    if conversation.contact.state == State.CHOOSING_LANGUAGE:
        from handlers.language import show_languages

        show_languages(conversation)
        return
    show_main_menu(conversation)


async def menu(conversation: Conversation, _: str) -> None:
    """Show the main menu."""
    show_main_menu(conversation)


def show_main_menu(conversation: Conversation) -> None:
    conversation.show_menu(State.MAIN_MENU, "menu.main.title", main_options(conversation))


def register(router: Router) -> None:
    router.action(Topic.START, welcome)
    router.action(Topic.MENU, menu)
    router.keywords("keywords.menu", Payload(Topic.MENU))
    router.keywords("keywords.back", Payload(Topic.MENU))
    router.intent(Intent.MENU, Payload(Topic.MENU), label="option.menu")
    router.intent(Intent.GREETING, Payload(Topic.START))
    router.menu(State.MAIN_MENU, main_options)
    router.menu(State.NEW, main_options)
