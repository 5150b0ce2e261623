"""Safety information: phone safety, a safety plan, leaving, rights, under-18s, a friend."""

from collections.abc import Sequence

from bot.conversation import Conversation, Option, Router
from bot.payloads import Payload, Topic
from bot.states import State
from bot.understanding import Intent

TOPICS = ("phone", "plan", "leaving", "rights", "under18", "friend")


def safety_options(_: Conversation) -> Sequence[Option]:
    return (
        *(Option(Payload(Topic.SAFETY, topic), f"safety.option.{topic}") for topic in TOPICS),
        Option(Payload(Topic.MENU), "option.menu"),
    )


async def safety(conversation: Conversation, topic: str) -> None:
    """Show the safety menu, or one topic's advice followed by the menu again."""
    conversation.topic = "safety"
    if topic in TOPICS:
        conversation.topic = f"safety_{topic}"
        conversation.say(f"safety.{topic}")
    conversation.show_menu(State.SAFETY_MENU, "safety.title", safety_options(conversation))


def register(router: Router) -> None:
    router.action(Topic.SAFETY, safety)
    router.intent(Intent.SAFETY, Payload(Topic.SAFETY), label="option.safety")
    # Descriptions of exploitation lead to the topic that answers them (danger.py has
    # already marked the concern, so asking for a person next opens an urgent ticket).
    router.intent(Intent.DOCUMENTS, Payload(Topic.SAFETY, "rights"), label="safety.option.rights")
    router.intent(Intent.DEBT, Payload(Topic.SAFETY, "rights"))
    router.intent(Intent.FORCED_SEX, Payload(Topic.SAFETY, "rights"))
    router.intent(Intent.CONFINED, Payload(Topic.SAFETY, "leaving"))
    router.intent(Intent.MINOR, Payload(Topic.SAFETY, "under18"))
    router.menu(State.SAFETY_MENU, safety_options, "safety.title")
