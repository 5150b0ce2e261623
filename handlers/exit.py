"""Leaving: the quick-exit word and forgetting the chat.

Both act only on the exact word, at any time, even as the first message. A word that
is almost one of them ("exitt", "salír") is asked about first (handlers/confirm.py):
a wrong guess here would end a conversation someone needed.
"""

from bot.conversation import Conversation, Router
from bot.payloads import Payload, Topic
from bot.understanding import Intent


async def quick_exit(conversation: Conversation, _: str) -> None:
    """Answer with something harmless and end the session at once."""
    conversation.topic = "exit"
    conversation.say_text(conversation.t("exit.reply"), ephemeral=True)
    conversation.end_session = True


async def forget(conversation: Conversation, _: str) -> None:
    """Erase what we hold about this person now and wipe the chat where the channel can."""
    conversation.topic = "forget"
    conversation.say("forget.done")
    conversation.end_session = True
    conversation.forget_chat = True


def register(router: Router) -> None:
    router.action(Topic.EXIT, quick_exit)
    router.action(Topic.FORGET, forget)
    router.keywords("keywords.exit", Payload(Topic.EXIT))
    router.keywords("keywords.forget", Payload(Topic.FORGET))
    # Reached only through the confirming question, never directly from a guess.
    router.intent(Intent.EXIT, Payload(Topic.EXIT))
    router.intent(Intent.FORGET, Payload(Topic.FORGET))
