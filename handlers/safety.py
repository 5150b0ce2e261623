"""Safety information: phone safety, a safety plan, leaving, rights, under-18s, a friend."""

from collections.abc import Sequence

from bot.conversation import Conversation, Option, Router
from bot.states import State

TOPICS = ("phone", "plan", "leaving", "rights", "under18", "friend")


def safety_options(_: Conversation) -> Sequence[Option]:
    return (
        *(Option(f"safety:{topic}", f"safety.option.{topic}") for topic in TOPICS),
        Option("menu", "option.menu"),
    )


async def safety(conversation: Conversation, topic: str) -> None:
    """Show the safety menu, or one topic's advice followed by the menu again."""
    conversation.topic = "safety"
    if topic in TOPICS:
        conversation.topic = f"safety_{topic}"
        conversation.say(f"safety.{topic}")
    conversation.show_menu(State.SAFETY_MENU, "safety.title", safety_options(conversation))


def register(router: Router) -> None:
    router.action("safety", safety)
    router.menu(State.SAFETY_MENU, safety_options, "safety.title")
