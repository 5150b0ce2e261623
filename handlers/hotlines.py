"""Hotline numbers for the country the person is in, from the hotline directory only.

The country is the one the person named, else their SIM's (a guess, said as one), else
unknown: then the numbers every mobile phone dials, and a way to say where they are.
"""

from collections.abc import Sequence

from bot.conversation import Conversation, Option, Router
from bot.countries import country_in_text
from bot.hotlines import Number
from bot.i18n import languages
from bot.payloads import Payload, Topic
from bot.states import State
from bot.understanding import Intent
from handlers.start import show_main_menu

SHORT_LIST = 8
"""Countries offered as buttons; any other is typed."""


def hotline_options(_: Conversation) -> Sequence[Option]:
    return (
        Option(Payload(Topic.COUNTRY), "option.other_country"),
        Option(Payload(Topic.MENU), "option.menu"),
    )


def country_options(conversation: Conversation) -> Sequence[Option]:
    """The countries where the person's language is spoken, then "other: type it"."""
    words = conversation.catalogue
    codes = [
        code
        for language in languages()
        if language.code == words.language.code
        for code in language.countries
        if code in conversation.directory.countries
    ][:SHORT_LIST]
    guess = conversation.contact.country
    if guess and guess not in codes:
        codes.insert(0, guess)
    return (
        *(Option(Payload(Topic.COUNTRY, code), label=words.country_name(code)) for code in codes),
        Option(Payload(Topic.COUNTRY, "other"), "country.other"),
        Option(Payload(Topic.MENU), "option.menu"),
    )


def line_name(conversation: Conversation, number: Number) -> str:
    """The line's name in the person's language, where it is not a proper name."""
    key = f"line.{number.id}"
    return conversation.t(key) if conversation.catalogue.has(key) else number.name


def number_line(conversation: Conversation, number: Number, index: int = 0) -> str:
    # In discreet mode a line's own name ("… Trafficking Hotline") would say what this is,
    # and so would "for children" or "to report": the neutral letter stands alone.
    discreet = conversation.contact.discreet
    name = (
        conversation.t("hotlines.neutral_name", letter="ABCDEFGHIJ"[index % 10])
        if discreet
        else line_name(conversation, number)
    )
    if number.call:
        line = conversation.t("hotlines.call", name=name, number=number.call)
    elif number.text and number.text_keyword:
        line = conversation.t(
            "hotlines.text", name=name, keyword=number.text_keyword, number=number.text
        )
    else:
        line = conversation.t("hotlines.text_plain", name=name, number=number.dial)
    if discreet:
        return line
    if number.report_only:
        return conversation.t("hotlines.report_only", line=line)
    if number.audience == "children":
        return conversation.t("hotlines.for_children", line=line)
    if number.audience == "women":
        return conversation.t("hotlines.for_women", line=line)
    return line


def hotline_text(conversation: Conversation) -> str:
    country = conversation.country
    params = conversation.standard_params()
    emergency = params["emergency"] or ""
    if not country.known:
        return "\n".join(
            (
                conversation.t("hotlines.none", country=params["country"]),
                conversation.t("hotlines.emergency", number=emergency),
                conversation.t("country.unknown_note", mobile=params["mobile"]),
            )
        )
    lines = [conversation.t("hotlines.title", country=params["country"])]
    lines.append(conversation.t("hotlines.emergency", number=emergency))
    shown = country.shown_lines()
    lines.extend(number_line(conversation, number, index) for index, number in enumerate(shown))
    if not shown:
        lines.append(conversation.t("hotlines.no_lines", country=params["country"]))
    if conversation.country_guessed:
        lines.append(
            conversation.t(
                "country.guessed_note", country=params["country"], mobile=params["mobile"]
            )
        )
    else:
        lines.append(conversation.t("country.change", country=params["country"]))
    return "\n".join(lines)


async def show_hotlines(conversation: Conversation, what: str) -> None:
    """List the country's emergency number and help lines; ask the country when unknown."""
    if what == "text":
        show_text_lines(conversation)
        return
    conversation.topic = "hotlines"
    conversation.contact.state = State.HOTLINES
    conversation.say_text(hotline_text(conversation))
    if not conversation.country.known:
        conversation.show_menu(
            State.CHOOSING_COUNTRY, "country.prompt", country_options(conversation)
        )
        return
    conversation.show_menu(State.HOTLINES, "menu.main.title", hotline_options(conversation))


def texting_line(conversation: Conversation, number: Number, index: int) -> str:
    """How to text a line (a line that also answers calls is shown by its text number)."""
    name = (
        conversation.t("hotlines.neutral_name", letter="ABCDEFGHIJ"[index % 10])
        if conversation.contact.discreet
        else line_name(conversation, number)
    )
    if number.text and number.text_keyword:
        return conversation.t(
            "hotlines.text", name=name, keyword=number.text_keyword, number=number.text
        )
    return conversation.t("hotlines.text_plain", name=name, number=number.text or number.dial)


def show_text_lines(conversation: Conversation) -> None:
    """Someone who cannot call: the lines they can text, or honestly that we know none."""
    conversation.topic = "hotlines"
    country = conversation.country
    params = conversation.standard_params()
    lines = country.text_lines() if country.known else ()
    if lines:
        conversation.say_text(
            "\n".join(
                (
                    conversation.t("hotlines.text_lines", country=params["country"]),
                    *(texting_line(conversation, number, i) for i, number in enumerate(lines)),
                )
            )
        )
    else:
        conversation.say("hotlines.no_text_line")
    conversation.show_menu(State.HOTLINES, "menu.main.title", hotline_options(conversation))


async def choose_country(conversation: Conversation, code: str) -> None:
    """Ask which country, or switch to the one chosen and show its numbers."""
    if code and code.upper() in conversation.directory.countries:
        set_country(conversation, code.upper())
        await show_hotlines(conversation, "")
        return
    if code == "other":
        conversation.contact.state = State.CHOOSING_COUNTRY
        conversation.say("country.type_it")
        return
    conversation.show_menu(State.CHOOSING_COUNTRY, "country.prompt", country_options(conversation))


def set_country(conversation: Conversation, code: str) -> None:
    """Keep the country the person said, like their language, for the retention window."""
    conversation.contact.country = code
    conversation.contact.country_said = True


async def typed_country(conversation: Conversation) -> bool:
    """Accept a country typed as a code ("MX") or a name, in any of the help line's languages."""
    code = country_in_text(
        conversation.inbound.text, conversation.catalogue.language.code, asked=True
    )
    if code is None or code not in conversation.directory.countries:
        return False  # the fallback answers kindly and shows the country question again
    await choose_country(conversation, code)
    return True


async def country_named(conversation: Conversation) -> bool:
    """A country named at any point ("I am in Portugal") switches the numbers to it at once."""
    code = country_in_text(conversation.inbound.text, conversation.catalogue.language.code)
    if code is None or code not in conversation.directory.countries:
        return False
    set_country(conversation, code)
    await show_hotlines(conversation, "")
    return True


async def where_note(conversation: Conversation, _: str) -> None:
    """After a danger reply: say the number is only a guess, or that we do not know the country."""
    if not conversation.country.known:
        conversation.say("country.unknown_note")
    elif conversation.country_guessed:
        conversation.say("country.guessed_note")


async def back_to_menu(conversation: Conversation, _: str) -> None:
    show_main_menu(conversation)


def register(router: Router) -> None:
    router.action(Topic.HOTLINES, show_hotlines)
    router.action(Topic.COUNTRY, choose_country)
    router.action(Topic.WHERE, where_note)
    router.intent(Intent.HOTLINES, Payload(Topic.HOTLINES), label="option.hotlines")
    router.intent(Intent.TEXT_LINE, Payload(Topic.HOTLINES, "text"), label="option.hotlines")
    router.free_text(country_named)
    router.menu(State.HOTLINES, hotline_options)
    router.menu(State.CHOOSING_COUNTRY, country_options, "country.prompt")
    router.text(State.CHOOSING_COUNTRY, typed_country)
