"""Find services near you."""

from collections.abc import Sequence

from bot.conversation import Conversation, Option, Router
from bot.states import State


def services_options(_: Conversation) -> Sequence[Option]:
    return (Option("hotlines", "option.hotlines"), Option("menu", "option.menu"))


async def services(conversation: Conversation, _: str) -> None:
    """Point to the national line that refers people to local services."""
    conversation.topic = "services"
    conversation.say("services.intro")
    conversation.show_menu(State.SERVICES, "menu.main.title", services_options(conversation))


def register(router: Router) -> None:
    router.action("services", services)
    router.menu(State.SERVICES, services_options)
