"""Canned replies and the hotline card, in the person's language, numbers from the directory."""

from __future__ import annotations

from dataclasses import dataclass

from bot.hotlines import Country, Number, directory, line_params
from bot.i18n import DEFAULT_LANGUAGE, Catalogue, catalogue, without_sentences
from bot.line_words import line_placeholders

PREFIX = "canned."


@dataclass(frozen=True, slots=True)
class Canned:
    key: str
    person: str
    """What the person receives, in their language."""
    own: str
    """The same reply in the advocate's language, so they know what they send."""


def canned_keys() -> tuple[str, ...]:
    """The canned replies, in the order the English catalogue lists them."""
    english = catalogue(DEFAULT_LANGUAGE).entries
    keys = [key for key in english if key.startswith(PREFIX)]
    return tuple(sorted(keys, key=lambda key: english[key].line))


def _country(code: str, default: str) -> Country:
    return directory().country(code, default)


def params(words: Catalogue, country: Country) -> dict[str, str | None]:
    """The placeholders a canned reply may use; None for a line the country lacks."""
    return (
        line_params(words, country, directory())
        | {
            "exit_word": words.first_word("keywords.exit"),
            "leave_word": words.first_word("keywords.leave_queue"),
        }
        | line_placeholders(words, country)
    )


def canned_text(key: str, language: str, country_code: str, default_country: str) -> str:
    words = catalogue(language)
    values = params(words, _country(country_code, default_country))
    missing = {name for name, value in values.items() if value is None}
    template = without_sentences(words.raw(key), missing, language)
    return template.format_map(_Fill({k: v for k, v in values.items() if v is not None}))


class _Fill(dict[str, str]):
    def __missing__(self, key: str) -> str:
        # An unknown placeholder shows as written; content check catches it before release.
        return "{" + key + "}"


def canned_replies(
    person_language: str, own_language: str, country_code: str, default_country: str
) -> list[Canned]:
    return [
        Canned(
            key,
            canned_text(key, person_language, country_code, default_country),
            canned_text(key, own_language, country_code, default_country),
        )
        for key in canned_keys()
    ]


def _number_line(words: Catalogue, number: Number, discreet: bool) -> str:
    if number.call:
        return words.text("hotlines.call", discreet=discreet, name=number.name, number=number.call)
    if number.text and number.text_keyword:
        return words.text(
            "hotlines.text",
            discreet=discreet,
            name=number.name,
            keyword=number.text_keyword,
            number=number.text,
        )
    return words.text(
        "hotlines.text_plain", discreet=discreet, name=number.name, number=number.dial
    )


def hotline_card(
    language: str, country_code: str, default_country: str, *, discreet: bool = False
) -> str:
    """The country's emergency number and help lines, worded as the person's own menu words them."""
    words = catalogue(language)
    country = _country(country_code, default_country)
    values = line_params(words, country, directory())
    name = values["country"] or ""
    emergency = words.text("hotlines.emergency", discreet=discreet, number=values["emergency"])
    if not country.known:
        return "\n".join((words.text("hotlines.none", discreet=discreet, country=name), emergency))
    lines = [words.text("hotlines.title", discreet=discreet, country=name), emergency]
    lines.extend(_number_line(words, number, discreet) for number in country.shown_lines())
    return "\n".join(lines)
