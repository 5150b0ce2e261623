"""Safety information: a self-check, phone safety, planning, rights, young people, and more topics.

Each topic is one or two messages (the SMS budget), then the menu it was chosen from.
Lines are named from the directory (bot/line_words.py), never written into a text.
"""

from collections.abc import Sequence

from bot.conversation import Conversation, Option, Router
from bot.line_words import youth_line
from bot.payloads import Payload, Topic
from bot.states import State
from bot.types import Channel
from bot.understanding import Intent

# The first menu: what most people need first.
TOPICS: dict[str, tuple[str, ...]] = {
    "check": ("topic.check", "topic.check.more"),
    "phone": ("safety.phone",),
    "plan": ("safety.plan",),
    "leaving": ("safety.leaving",),
    "rights": ("safety.rights",),
    "under18": ("safety.under18", "safety.under18.privacy"),
    "friend": ("safety.friend",),
}

# "More topics": questions people ask once they trust the line a little.
MORE_TOPICS: dict[str, tuple[str, ...]] = {
    "contact": ("topic.contact",),
    "papers": ("topic.papers",),
    "debt": ("topic.debt",),
    "pay": ("topic.pay",),
    "documents": ("topic.documents",),
    "photos": ("topic.photos",),
    "forced_crime": ("topic.forced_crime",),
    "job_offer": ("topic.job_offer",),
    "crisis": ("topic.crisis",),
    "access": ("topic.access",),
}


def _label(topic: str) -> str:
    return f"safety.option.{topic}" if topic in TOPICS else f"topic.option.{topic}"


def safety_options(_: Conversation) -> Sequence[Option]:
    return (
        *(Option(Payload(Topic.SAFETY, topic), _label(topic)) for topic in TOPICS),
        Option(Payload(Topic.SAFETY, "more"), "safety.option.more"),
        Option(Payload(Topic.MENU), "option.menu"),
    )


def more_options(_: Conversation) -> Sequence[Option]:
    return (
        *(Option(Payload(Topic.SAFETY, topic), _label(topic)) for topic in MORE_TOPICS),
        Option(Payload(Topic.SAFETY), "topic.option.back"),
    )


def _message_keys(conversation: Conversation, topic: str) -> tuple[str, ...]:
    keys = TOPICS.get(topic) or MORE_TOPICS[topic]
    if topic == "phone" and conversation.inbound.channel == Channel.TELEGRAM:
        # Telegram can wipe the chat itself (/forget); SMS texts stay on the phone.
        return ("safety.phone.telegram",)
    if topic == "under18" and youth_line(conversation.country) is None:
        return ("topic.under18.no_line", *keys[1:])
    return keys


async def safety(conversation: Conversation, topic: str) -> None:
    """Show the safety menu, the more-topics menu, or one topic followed by its menu."""
    conversation.topic = "safety"
    if topic == "more":
        conversation.show_menu(State.SAFETY_MORE, "safety.more.title", more_options(conversation))
        return
    if topic not in TOPICS and topic not in MORE_TOPICS:
        conversation.show_menu(State.SAFETY_MENU, "safety.title", safety_options(conversation))
        return
    conversation.topic = f"safety_{topic}"
    for key in _message_keys(conversation, topic):
        conversation.say(key)
    if topic in MORE_TOPICS:
        conversation.show_menu(State.SAFETY_MORE, "safety.more.title", more_options(conversation))
    else:
        conversation.show_menu(State.SAFETY_MENU, "safety.title", safety_options(conversation))


def register(router: Router) -> None:
    router.action(Topic.SAFETY, safety)
    router.intent(Intent.SAFETY, Payload(Topic.SAFETY), label="option.safety")
    # Descriptions of exploitation lead to the topic that answers them (danger.py has
    # already marked the concern, so asking for a person next opens an urgent ticket).
    router.intent(
        Intent.DOCUMENTS, Payload(Topic.SAFETY, "documents"), label="topic.option.documents"
    )
    router.intent(Intent.DEBT, Payload(Topic.SAFETY, "debt"))
    router.intent(Intent.FORCED_SEX, Payload(Topic.SAFETY, "rights"))
    router.intent(Intent.CONFINED, Payload(Topic.SAFETY, "leaving"))
    router.intent(Intent.MINOR, Payload(Topic.SAFETY, "under18"))
    router.menu(State.SAFETY_MENU, safety_options, "safety.title")
    router.menu(State.SAFETY_MORE, more_options, "safety.more.title")
