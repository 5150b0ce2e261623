"""Welcome and the main menu."""

from collections.abc import Sequence

from bot.conversation import Conversation, Option, Router
from bot.states import State


def main_options(conversation: Conversation) -> Sequence[Option]:
    discreet = "discreet:off" if conversation.contact.discreet else "discreet:on"
    discreet_key = "option.discreet_off" if conversation.contact.discreet else "option.discreet_on"
    return (
        Option("hotlines", "option.hotlines"),
        Option("safety", "option.safety"),
        Option("services", "option.services"),
        Option("talk", "option.talk"),
        Option("language", "option.language"),
        Option(discreet, discreet_key),
    )


async def welcome(conversation: Conversation, _: str) -> None:
    """Say who we are, how to leave fast and the emergency number; then offer the menu."""
    conversation.topic = conversation.topic or "start"
    conversation.say("welcome")
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
    router.action("start", welcome)
    router.action("menu", menu)
    router.menu(State.MAIN_MENU, main_options)
    router.menu(State.NEW, main_options)
