"""A service as a reply: a few lines on SMS within the segment budget, fuller elsewhere.

Every card says when the entry was last verified, so a person can judge how fresh it is.
"""

from __future__ import annotations

import datetime as dt

from babel import Locale
from babel.dates import get_day_names

from bot.directory.hours import OpenState
from bot.directory.search import ServiceCard
from bot.i18n import Catalogue
from bot.segments import measure
from bot.types import Channel

SMS_CARD_SEGMENTS = 2
"""One card costs at most this many SMS segments, in GSM-7 or UCS-2 alike."""
_MILES_COUNTRIES = frozenset({"US", "GB", "LR", "MM"})
_MAX_LANGUAGES = 3


def render_card(card: ServiceCard, catalogue: Catalogue, channel: Channel | str) -> str:
    """The card's text in the catalogue's language, sized for the channel.

    Telegram gets the full card; SMS and the other text surfaces (the SMS-style
    simulator, the terminal) get the few lines that fit the SMS segment budget.
    """
    if Channel(channel) != Channel.TELEGRAM:
        return _fit_sms(card, catalogue)
    lines = [_title(card, catalogue, card.name)]
    if card.organization and card.organization != card.name:
        lines.append(card.organization)
    if card.address:
        lines.append(card.address)
    elif card.area:
        lines.append(catalogue.text("referrals.card.area", area=card.area))
    lines.extend(_facts(card, catalogue, max_languages=6))
    return "\n".join(lines)


def _fit_sms(card: ServiceCard, catalogue: Catalogue) -> str:
    """Name, phone, hours, languages, verified; drop or shorten until it fits the budget."""
    name = card.name
    facts = _facts(card, catalogue, max_languages=_MAX_LANGUAGES)
    languages_line = _languages_line(card, catalogue, _MAX_LANGUAGES)
    while True:
        text = "\n".join([_title(card, catalogue, name), *facts])
        if measure(text).count <= SMS_CARD_SEGMENTS:
            return text
        if languages_line and languages_line in facts:
            facts.remove(languages_line)  # the least needed line goes first
        elif len(name) > 12:
            name = name[: max(12, len(name) - 8)].rstrip() + "..."
        else:
            return text


def _title(card: ServiceCard, catalogue: Catalogue, name: str) -> str:
    distance = _distance(card, catalogue)
    return f"{name} - {distance}" if distance else name


def _facts(card: ServiceCard, catalogue: Catalogue, *, max_languages: int) -> list[str]:
    lines: list[str] = []
    if card.phone:
        lines.append(catalogue.text("referrals.card.call", phone=card.phone))
    lines.append(hours_text(card, catalogue))
    languages = _languages_line(card, catalogue, max_languages)
    if languages:
        lines.append(languages)
    lines.append(verified_text(card.last_verified, catalogue))
    return lines


def hours_text(card: ServiceCard, catalogue: Catalogue) -> str:
    hours = card.hours
    if hours.state == OpenState.OPEN:
        if hours.until is None:
            return catalogue.text("referrals.card.open_always")
        return catalogue.text("referrals.card.open_until", time=_clock(hours.until))
    if hours.state == OpenState.CLOSED and hours.next_open is not None:
        day = get_day_names("abbreviated", locale=catalogue.language.code)[
            hours.next_open.weekday()
        ]
        return catalogue.text(
            "referrals.card.closed_opens", day=str(day), time=_clock(hours.next_open)
        )
    if hours.state == OpenState.CLOSED:
        return catalogue.text("referrals.card.closed")
    return catalogue.text("referrals.card.hours_unknown")


def verified_text(day: dt.date | None, catalogue: Catalogue) -> str:
    if day is None:
        return catalogue.text("referrals.card.unverified")
    return catalogue.text("referrals.card.verified", date=day.isoformat())


def _languages_line(card: ServiceCard, catalogue: Catalogue, limit: int) -> str:
    if not card.languages:
        return ""
    names = Locale.parse(catalogue.language.code).languages
    shown = [str(names.get(code, code)) for code in card.languages[:limit]]
    if len(card.languages) > limit:
        shown.append(f"+{len(card.languages) - limit}")
    return catalogue.text("referrals.card.languages", languages=", ".join(shown))


def _distance(card: ServiceCard, catalogue: Catalogue) -> str:
    if card.distance_km is None:
        return ""
    if card.country in _MILES_COUNTRIES:
        value, key = card.distance_km / 1.609344, "referrals.card.distance_mi"
    else:
        value, key = card.distance_km, "referrals.card.distance_km"
    shown = f"{value:.1f}" if value < 10 else f"{value:.0f}"
    return catalogue.text(key, distance=shown)


def _clock(when: dt.datetime) -> str:
    return when.strftime("%H:%M")
