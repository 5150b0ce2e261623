"""The language menu: always one keyword or one button away."""

from collections.abc import Sequence

from bot.conversation import Conversation, Option, Router
from bot.i18n import catalogue, language_codes, languages
from bot.payloads import Payload, Topic
from bot.states import State
from bot.understanding import Intent
from handlers.start import show_main_menu


def language_options(_: Conversation) -> Sequence[Option]:
    return tuple(
        Option(Payload(Topic.LANG, language.code), label=language.native_name)
        for language in languages()
    )


def show_languages(conversation: Conversation) -> None:
    conversation.show_menu(
        State.CHOOSING_LANGUAGE, "language.prompt", language_options(conversation)
    )


async def choose(conversation: Conversation, code: str) -> None:
    """Show the language menu, or switch to the language chosen."""
    if code not in language_codes():
        show_languages(conversation)
        return
    conversation.contact.language = code
    conversation.catalogue = catalogue(code)
    conversation.say("language.set")
    show_main_menu(conversation)


def register(router: Router) -> None:
    router.action(Topic.LANGUAGE, choose)
    router.action(Topic.LANG, choose)
    router.keywords("keywords.language", Payload(Topic.LANGUAGE))
    router.intent(Intent.LANGUAGE, Payload(Topic.LANGUAGE), label="option.language")
    router.menu(State.CHOOSING_LANGUAGE, language_options, "language.prompt")
