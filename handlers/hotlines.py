"""Hotline numbers for the person's country, from the hotline directory only."""

from collections.abc import Sequence

from bot.conversation import Conversation, Option, Router
from bot.hotlines import Number
from bot.i18n import normalise
from bot.payloads import Payload, Topic
from bot.states import State
from bot.understanding import Intent
from handlers.start import show_main_menu


def hotline_options(_: Conversation) -> Sequence[Option]:
    return (
        Option(Payload(Topic.COUNTRY), "option.other_country"),
        Option(Payload(Topic.MENU), "option.menu"),
    )


def country_options(conversation: Conversation) -> Sequence[Option]:
    words = conversation.catalogue
    codes = sorted(conversation.directory.country_codes(), key=words.country_name)
    return tuple(
        Option(Payload(Topic.COUNTRY, code), label=words.country_name(code)) for code in codes
    )


def number_line(conversation: Conversation, number: Number, index: int = 0) -> str:
    # In discreet mode a line's own name ("… Trafficking Hotline") would say what this is.
    name = (
        conversation.t("hotlines.neutral_name", letter="ABCDEFGHIJ"[index % 10])
        if conversation.contact.discreet
        else number.name
    )
    if number.call:
        return conversation.t("hotlines.call", name=name, number=number.call)
    if number.text and number.text_keyword:
        return conversation.t(
            "hotlines.text", name=name, keyword=number.text_keyword, number=number.text
        )
    return conversation.t("hotlines.text_plain", name=name, number=number.dial)


def hotline_text(conversation: Conversation) -> str:
    country = conversation.country
    params = conversation.standard_params()
    lines = [conversation.t("hotlines.title", country=params["country"])]
    emergency = country.shown_emergency()
    if emergency is not None:
        lines.append(conversation.t("hotlines.emergency", number=emergency.dial))
    shown = country.shown_lines()
    lines.extend(number_line(conversation, number, index) for index, number in enumerate(shown))
    if emergency is None and not shown:
        return conversation.t("hotlines.none", country=params["country"])
    return "\n".join(lines)


async def show_hotlines(conversation: Conversation, _: str) -> None:
    """List the country's emergency number and help lines."""
    conversation.topic = "hotlines"
    conversation.contact.state = State.HOTLINES
    options = hotline_options(conversation)
    conversation.say_text(hotline_text(conversation))
    conversation.show_menu(State.HOTLINES, "menu.main.title", options)


async def choose_country(conversation: Conversation, code: str) -> None:
    """Ask which country, or switch to the one chosen and show its numbers."""
    if code and code.upper() in conversation.directory.countries:
        conversation.contact.country = code.upper()
        await show_hotlines(conversation, "")
        return
    conversation.show_menu(State.CHOOSING_COUNTRY, "country.prompt", country_options(conversation))


async def typed_country(conversation: Conversation) -> bool:
    """Accept a country typed as a code ("MX") or a name in the person's language."""
    said = normalise(conversation.inbound.text)
    for code in conversation.directory.country_codes():
        if said in (code.casefold(), normalise(conversation.catalogue.country_name(code))):
            await choose_country(conversation, code)
            return True
    return False


async def back_to_menu(conversation: Conversation, _: str) -> None:
    show_main_menu(conversation)


def register(router: Router) -> None:
    router.action(Topic.HOTLINES, show_hotlines)
    router.action(Topic.COUNTRY, choose_country)
    router.intent(Intent.HOTLINES, Payload(Topic.HOTLINES), label="option.hotlines")
    router.menu(State.HOTLINES, hotline_options)
    router.menu(State.CHOOSING_COUNTRY, country_options, "country.prompt")
    router.text(State.CHOOSING_COUNTRY, typed_country)
