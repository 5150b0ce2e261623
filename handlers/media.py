"""Pictures, voice notes and files: never opened or kept; where to report an image of a child."""

from bot.conversation import Conversation, Router
from bot.hotlines import Number
from bot.payloads import Payload, Topic
from bot.states import State


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


async def media_first(conversation: Conversation) -> bool:
    """A picture or file: say it is not kept; with no words, carry on where they were."""
    if not conversation.inbound.has_media:
        return False
    await media(conversation, "")
    if conversation.said:
        return False
    contact = conversation.contact
    if contact.state == State.NEW:
        await conversation.router.run(conversation, Payload(Topic.START))
    elif contact.state not in (State.CONNECTED, State.QUEUED):
        await conversation.router.run(conversation, Payload(Topic.MENU))
    return True


def register(router: Router) -> None:
    router.action(Topic.MEDIA, media)
    router.pre(media_first, group=10)
