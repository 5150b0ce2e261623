"""Pictures, voice notes and files: never opened or kept; where to report an image of a child."""

from bot.conversation import Conversation, Router
from bot.hotlines import Number


def report_line(number: Number) -> str:
    ways = [way for way in (number.call, number.web) if way] or [number.dial]
    return f"{number.name} ({', '.join(ways)})"


async def media(conversation: Conversation, _: str) -> None:
    """Say that media is not kept, and how an image of a child can be removed."""
    conversation.topic = "media"
    conversation.say("media.not_kept")
    line = conversation.country.report_line()
    if line is not None:
        conversation.say("media.child_report", report_line=report_line(line))


def register(router: Router) -> None:
    router.action("media", media)
