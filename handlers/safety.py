"""Safety information: a self-check, phone safety, planning, rights, young people, and more topics.

Each topic is one or two messages (the SMS budget), then the menu it was chosen from.
Lines are named from the directory (bot/line_words.py), never written into a text.
"""

from collections.abc import Sequence

from bot.conversation import Conversation, Option, Router
from bot.line_words import youth_line
from bot.states import State
from bot.types import Channel

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
        *(Option(f"safety:{topic}", _label(topic)) for topic in TOPICS),
        Option("safety:more", "safety.option.more"),
        Option("menu", "option.menu"),
    )


def more_options(_: Conversation) -> Sequence[Option]:
    return (
        *(Option(f"safety:{topic}", _label(topic)) for topic in MORE_TOPICS),
        Option("safety", "topic.option.back"),
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
    router.action("safety", safety)
    router.menu(State.SAFETY_MENU, safety_options, "safety.title")
    router.menu(State.SAFETY_MORE, more_options, "safety.more.title")
