"""Leaving: the quick-exit word and forgetting the chat."""

from bot.conversation import Conversation, Router


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
    router.action("exit", quick_exit)
    router.action("forget", forget)
