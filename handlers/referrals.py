"""Find services near you: need first (a menu), then place, then cards.

The place a person types (or a location shared on Telegram) is resolved and searched
in the same turn and then forgotten: it is never stored, logged or echoed back. Only
the chosen need is kept, in the conversation state. To see more results the person
sends the place again. When nothing is found, the national line is the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.conversation import Conversation, Option, Router
from bot.directory.cards import render_card
from bot.directory.gazetteer import Place, place_not_found, resolve, takes_zip_codes
from bot.directory.needs import Need
from bot.directory.search import ServiceCard, language_matches, search_all
from bot.i18n import display_name, normalise
from bot.payloads import Payload, Topic
from bot.states import State
from bot.types import Channel
from bot.understanding import Intent

PAGE_SIZE = 3
_PLACE, _MORE = "services_place", "services_more"


def need_label_key(need: Need) -> str:
    return f"referrals.need.{need.value}"


def place_state(need: Need) -> State:
    return State(f"{_PLACE}:{need.value}")


def more_state(need: Need) -> State:
    return State(f"{_MORE}:{need.value}")


def waiting_for_place(state: State) -> tuple[Need, int] | None:
    """(need, page) when the conversation is waiting for a place, else None."""
    kind, _, need = str(state).partition(":")
    if kind not in (_PLACE, _MORE) or need not in Need.__members__.values():
        return None
    return Need(need), 0 if kind == _PLACE else 1


# --- menus -------------------------------------------------------------------------------


def need_options(_: Conversation) -> Sequence[Option]:
    needs = [Option(need_payload(need), need_label_key(need)) for need in Need]
    return (*needs, Option(Payload(Topic.MENU), "option.menu"))


def need_payload(need: Need) -> Payload:
    return Payload(Topic.SERVICES, f"need:{need.value}")


def place_options(_: Conversation) -> Sequence[Option]:
    return (
        Option(Payload(Topic.SERVICES), "referrals.option.other_need"),
        Option(Payload(Topic.MENU), "option.menu"),
    )


def more_options(conversation: Conversation) -> Sequence[Option]:
    waiting = waiting_for_place(conversation.contact.state)
    more = (
        [Option(Payload(Topic.SERVICES, f"more:{waiting[0].value}"), "referrals.option.more")]
        if waiting
        else []
    )
    return (*more, *place_options(conversation))


# --- actions -----------------------------------------------------------------------------


async def services(conversation: Conversation, argument: str) -> None:
    """Ask which kind of help; then where; a shared location answers "where"."""
    conversation.topic = "services"
    step, _, value = argument.partition(":")
    if step == "need" and value in Need.__members__.values():
        ask_place(conversation, Need(value), more=False)
    elif step == "more" and value in Need.__members__.values():
        ask_place(conversation, Need(value), more=True)
    elif step == "place" and waiting_for_place(conversation.contact.state) is not None:
        await typed_place(conversation)
    else:
        conversation.show_menu(
            State.SERVICES_NEED, "referrals.need.title", need_options(conversation)
        )


def ask_place(conversation: Conversation, need: Need, *, more: bool) -> None:
    # A ZIP code is searched only for a person in the US: elsewhere ask for a town or city.
    zip_codes = takes_zip_codes(conversation.country.code)
    base = "referrals.ask_place" if zip_codes else "referrals.ask_city"
    if more:
        key = "referrals.more.ask" if base == "referrals.ask_place" else "referrals.more.ask_city"
    elif conversation.inbound.channel == Channel.TELEGRAM:
        key = f"{base}.telegram"
    else:
        key = base
    state = more_state(need) if more else place_state(need)
    conversation.show_menu(state, key, place_options(conversation))


async def typed_need(conversation: Conversation) -> bool:
    """Accept a need typed by its name ("shelter") as well as by its number."""
    said = normalise(conversation.inbound.text)
    for need in Need:
        if said == normalise(conversation.t(need_label_key(need))):
            ask_place(conversation, need, more=False)
            return True
    return False


async def typed_place(conversation: Conversation) -> bool:
    """Search near the place just sent, show the cards, and forget the place."""
    waiting = waiting_for_place(conversation.contact.state)
    if waiting is None:
        return False
    need, page = waiting
    conversation.topic = "services"
    contact = conversation.contact
    # The place index loads on first use (a few seconds, ~100 MB): off the event loop.
    text, country = conversation.inbound.text, contact.country
    place = await asyncio.to_thread(
        resolve,
        text,
        country=country,
        language=contact.language,
        zip_codes=takes_zip_codes(country),
    )
    if place is None:
        key, example = await asyncio.to_thread(place_not_found, text, country)
        conversation.say(key, **example)
        conversation.show_menu(contact.state, "referrals.next.title", place_options(conversation))
        return True
    cards, other_language = await _find(conversation, place, need)
    shown = cards[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    # Whole sentences per need (and a need-free one in discreet mode), so no language
    # has to fit a need's name into a sentence it does not agree with.
    which = "any" if contact.discreet else need.value
    if not shown:
        key = f"referrals.nothing.{which}" if page == 0 else "referrals.more.none"
        conversation.say(key, place=place.name)
        conversation.show_menu(
            place_state(need), "referrals.next.title", place_options(conversation)
        )
        return True
    if other_language and page == 0:
        language = display_name(contact.language)
        conversation.say("referrals.results.other_language", place=place.name, language=language)
    elif page == 0:
        conversation.say(f"referrals.found.{which}", place=place.name)
    for card in shown:
        conversation.say_text(render_card(card, conversation.catalogue, contact.channel))
    has_more = page == 0 and len(cards) > PAGE_SIZE
    next_state = more_state(need) if has_more else place_state(need)
    options = more_options if has_more else place_options
    conversation.show_menu(next_state, "referrals.next.title", options(conversation))
    return True


async def _find(
    conversation: Conversation, place: Place, need: Need
) -> tuple[list[ServiceCard], bool]:
    """Services that speak the person's language; failing that, any near by."""
    language = conversation.contact.language
    found = await search_all(
        conversation.session, place=place, need=need, language=language, now=conversation.now
    )
    if found or language_matches(language) is None:
        return found, False
    anyone = await search_all(
        conversation.session, place=place, need=need, language=None, now=conversation.now
    )
    return anyone, bool(anyone)


def register(router: Router) -> None:
    router.action(Topic.SERVICES, services)
    router.intent(Intent.SHELTER, need_payload(Need.SHELTER), label=need_label_key(Need.SHELTER))
    router.intent(Intent.LEGAL, need_payload(Need.LEGAL), label=need_label_key(Need.LEGAL))
    router.intent(Intent.MEDICAL, need_payload(Need.MEDICAL), label=need_label_key(Need.MEDICAL))
    router.intent(Intent.WAGES, need_payload(Need.LABOUR), label=need_label_key(Need.LABOUR))
    # No food need in the directory yet: the list of needs is the honest answer.
    router.intent(Intent.FOOD, Payload(Topic.SERVICES), label="option.services")
    router.menu(State.SERVICES, need_options, "referrals.need.title")
    router.menu(State.SERVICES_NEED, need_options, "referrals.need.title")
    router.text(State.SERVICES_NEED, typed_need)
    for need in Need:
        router.menu(place_state(need), place_options, "referrals.next.title")
        router.menu(more_state(need), more_options, "referrals.next.title")
        router.text(place_state(need), typed_place)
        router.text(more_state(need), typed_place)
