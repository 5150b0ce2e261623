"""One-line questions: "leave now?" for a near-miss exit word, "which one?" for a
message that could mean two things. The payloads asked about are kept in the person's
state (names of topics, never their words) until the next message.
"""

from collections.abc import Sequence

from bot.conversation import Conversation, Option, Router
from bot.payloads import Payload, Topic
from bot.states import State
from bot.understanding import Intent
from handlers.start import show_main_menu

YES, NO = Payload(Topic.CONFIRM, "yes"), Payload(Topic.CONFIRM, "no")
QUESTIONS = {Topic.EXIT: "confirm.exit", Topic.FORGET: "confirm.forget"}


def asked(conversation: Conversation) -> list[Payload]:
    text = conversation.contact.asked or ""
    return [p for p in (Payload.parse(part) for part in text.split("|")) if p is not None]


def question_options(conversation: Conversation) -> Sequence[Option]:
    choices = asked(conversation)
    if len(choices) == 1:
        return (Option(choices[0], "confirm.yes"), Option(Payload(Topic.MENU), "confirm.no"))
    labelled = []
    for choice in choices:
        key = conversation.router.label(choice)
        if key is not None:
            labelled.append(Option(choice, key))
    return (*labelled, Option(Payload(Topic.MENU), "option.menu"))


async def confirm(conversation: Conversation, argument: str) -> None:
    """Ask about the payloads in ``argument``, or act on the answer (yes / no)."""
    if argument in ("yes", "no"):
        choices = asked(conversation)
        conversation.contact.asked = None
        if argument == "yes" and len(choices) == 1:
            await conversation.router.run(conversation, choices[0])
        else:
            show_main_menu(conversation)
        return
    conversation.topic = "clarify"
    conversation.contact.asked = argument
    choices = asked(conversation)
    title = (
        QUESTIONS.get(choices[0].topic, "confirm.which") if len(choices) == 1 else "confirm.which"
    )
    conversation.show_menu(State.ASKING, title, question_options(conversation))


def register(router: Router) -> None:
    router.action(Topic.CONFIRM, confirm)
    router.menu(State.ASKING, question_options, "confirm.which")
    router.intent(Intent.YES, YES, state=State.ASKING)
    router.intent(Intent.NO, NO, state=State.ASKING)
