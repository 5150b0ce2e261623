"""Help, discreet mode, and a kind answer to anything not understood."""

from bot.conversation import Conversation, Router
from bot.payloads import Payload, Topic
from bot.states import State
from bot.understanding import Intent
from handlers.start import show_main_menu


async def help_reply(conversation: Conversation, _: str) -> None:
    """Say what this line is and how to use it."""
    conversation.topic = "help"
    conversation.say("help.reply")
    show_main_menu(conversation)


async def discreet(conversation: Conversation, setting: str) -> None:
    """Switch discreet mode on or off (a bare keyword toggles it)."""
    turn_on = setting == "on" if setting in ("on", "off") else not conversation.contact.discreet
    conversation.contact.discreet = turn_on
    conversation.topic = "discreet"
    conversation.say("discreet.on" if turn_on else "discreet.off")
    show_main_menu(conversation)


async def not_understood(conversation: Conversation, _: str) -> None:
    """Never an error: a short, kind reply and the menu the person was in."""
    conversation.topic = "fallback"
    conversation.say("fallback")
    if conversation.contact.state in (State.NEW, State.QUEUED, State.CONNECTED):
        show_main_menu(conversation)
        return
    options = conversation.router.options(conversation)
    if options:
        state = conversation.contact.state
        conversation.show_menu(state, conversation.router.title(state), options)
    else:
        show_main_menu(conversation)


def register(router: Router) -> None:
    router.action(Topic.HELP, help_reply)
    router.action(Topic.DISCREET, discreet)
    router.action(Topic.FALLBACK, not_understood)
    router.keywords("keywords.help", Payload(Topic.HELP))
    router.keywords("keywords.discreet", Payload(Topic.DISCREET, "on"))
    router.intent(Intent.HELP, Payload(Topic.HELP))
    router.intent(Intent.DISCREET, Payload(Topic.DISCREET, "on"))
