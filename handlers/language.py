"""The language menu: always one keyword or one button away, in pages that fit one SMS.

The pages themselves are cut in bot/language_menu.py; the language of the person's SIM
country comes first.
"""

from collections.abc import Sequence

from bot.conversation import Conversation, Option, Router
from bot.i18n import catalogue, language_codes, language_for_country
from bot.language_menu import BACK_KEY, MORE, MORE_KEY, TITLE_KEY, pages
from bot.payloads import Payload, Topic
from bot.states import State
from bot.understanding import Intent
from handlers.start import show_main_menu


def language_options(conversation: Conversation) -> Sequence[Option]:
    home = language_for_country(conversation.contact.country or None)
    menu = pages(conversation.catalogue, home, discreet=conversation.contact.discreet)
    if conversation.contact.state == State.CHOOSING_LANGUAGE_MORE and menu.rest:
        shown, turn = menu.rest, Option(Payload(Topic.LANGUAGE), key=BACK_KEY)
    else:
        shown, turn = menu.first, Option(Payload(Topic.LANGUAGE, MORE), key=MORE_KEY)
    options = [Option(Payload(Topic.LANG, item.code), label=item.native_name) for item in shown]
    return (*options, turn) if menu.rest else tuple(options)


def show_languages(conversation: Conversation, page: str = "") -> None:
    state = State.CHOOSING_LANGUAGE_MORE if page == MORE else State.CHOOSING_LANGUAGE
    # Which page's options to build depends on the state: move to it first.
    conversation.contact.state = state
    conversation.show_menu(state, TITLE_KEY, language_options(conversation))


async def choose(conversation: Conversation, code: str) -> None:
    """Show the language menu (a page of it), or switch to the language chosen."""
    if code not in language_codes():
        show_languages(conversation, code)
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
    router.menu(State.CHOOSING_LANGUAGE, language_options, TITLE_KEY)
    router.menu(State.CHOOSING_LANGUAGE_MORE, language_options, TITLE_KEY)
