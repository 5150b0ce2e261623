"""Danger first: words of imminent danger, fear, and descriptions of exploitation.

Runs before every other topic (group 0), in every state, live chats included: the
emergency number of the person's country comes in the very first reply, and a ticket
open now or later this session is urgent.
"""

from bot.conversation import Conversation, Router
from bot.payloads import Payload, Topic
from bot.states import State
from bot.understanding import EXPLOITATION, Intent
from bot.understanding.danger import contains_danger


async def danger_first(conversation: Conversation) -> bool:
    """Answer words of danger with the emergency number before anything else."""
    text = conversation.inbound.text
    if not text.strip():
        return False
    if contains_danger(text, conversation.catalogue):
        conversation.say("danger.reply")
        # The number is the country's only when we know where the person is: say so.
        await conversation.router.run(conversation, Payload(Topic.WHERE))
        conversation.topic = "danger"
        await _concern(conversation)
    elif not conversation.said.isdecimal() and conversation.meaning.intent in EXPLOITATION:
        await _concern(conversation)
    return False


async def _concern(conversation: Conversation) -> None:
    conversation.mark_concern()
    ticket = conversation.ticket
    if ticket is not None:
        await conversation.queue.mark_urgent(conversation.session, ticket)
        conversation.queue_changed = True


async def fear(conversation: Conversation, _: str) -> None:
    """Someone is afraid: the emergency number, and a person offered at once."""
    if not _said_danger(conversation):
        conversation.say("danger.reply")
        await conversation.router.run(conversation, Payload(Topic.WHERE))
    conversation.topic = "fear"
    await _concern(conversation)
    if conversation.contact.ticket_id is not None:
        await conversation.router.run(conversation, Payload(Topic.TALK))
        return
    from handlers.talk import consent_options

    conversation.show_menu(State.TALK_CONSENT, "talk.consent", consent_options(conversation))


def _said_danger(conversation: Conversation) -> bool:
    wanted = conversation.standard_text("danger.reply")
    return any(reply.text == wanted for reply in conversation.replies)


def register(router: Router) -> None:
    router.pre(danger_first, group=0)
    router.action(Topic.FEAR, fear)
    router.intent(Intent.FEAR, Payload(Topic.FEAR), label="option.talk")
