"""What a text may say about a help line, built only from that line's directory fields.

A sentence such as "it is open day and night" or "it can find an interpreter" is true
of some lines and false of others, so no catalogue text states it: the sentences live
under ``facts.*`` keys and are added here only when the line's entry in
content/hotlines.toml says so. A field that is missing says nothing. ``helpline content
check`` fails on a claim written anywhere else (see bot/content_check.py).

The directory fields read here are ``hours`` ("24/7" or "24h …"), ``interpreters``,
``confidential``, ``report_only`` (bools), ``purpose``, ``audience`` and ``mode``
(words). Fields the directory does not carry yet read as unknown.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.hotlines import Country, Number
from bot.i18n import Catalogue

FACT_KEYS = (
    "facts.police",
    "facts.report_only",
    "facts.open_always",
    "facts.interpreters",
    "facts.confidential",
    "facts.text",
)
"""Every claim sentence a catalogue may hold; content check keeps catalogues to these."""

_NO_SPACE_LANGUAGES = frozenset({"zh"})
_YOUNG = ("child", "youth", "young", "teen", "minor", "under")
_NOT_SUPPORT = ("report", "missing", "police", "tipline", "cybertip")


def _field(number: Number, name: str) -> object:
    # Fields come and go with the directory's schema; unknown means "say nothing".
    return getattr(number, name, None)


def _words(number: Number, name: str) -> str:
    value = _field(number, name)
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, Iterable):
        return " ".join(str(item) for item in value).casefold()
    return ""


def fact_keys(number: Number) -> list[str]:
    """The ``facts.*`` keys this line's directory entry supports, in reading order."""
    keys: list[str] = []
    if "police" in _words(number, "purpose"):
        keys.append("facts.police")
    if _field(number, "report_only") is True:
        keys.append("facts.report_only")
    if _always_open(number):
        keys.append("facts.open_always")
    if _field(number, "interpreters") is True:
        keys.append("facts.interpreters")
    if _field(number, "confidential") is True:
        keys.append("facts.confidential")
    if "text" in _words(number, "mode") or (number.text and number.text == number.call):
        # Only when the number shown ({hotline} is the voice number) also takes texts.
        keys.append("facts.text")
    return keys


def facts(words: Catalogue, number: Number | None) -> str:
    """The line's supported facts as sentences, with a leading space; empty when none are known."""
    if number is None:
        return ""
    sentences = [words.text(key) for key in fact_keys(number)]
    if not sentences:
        return ""
    joiner = "" if words.language.code in _NO_SPACE_LANGUAGES else " "
    return joiner + joiner.join(sentences)


def is_support_line(number: Number) -> bool:
    """A line a person can talk to, not one that only takes reports or looks for missing children."""
    if _field(number, "report_only") is True or number.kind == "report":
        return False
    purpose = _words(number, "purpose")
    if purpose:
        return not any(word in purpose for word in _NOT_SUPPORT)
    # Until every entry carries report_only/purpose, the service's own name is the only
    # sign left of a reporting or missing-children line (CyberTipline, 116 000).
    return not any(word in number.name.casefold() for word in _NOT_SUPPORT)


def is_for_young_people(number: Number) -> bool:
    """A line young people may call: one for children, or a child line open to everyone."""
    audience = _words(number, "audience")
    if any(word in audience for word in _YOUNG):
        return True
    if audience in ("adults", "women"):
        return False
    return number.kind == "child"


def _only_for_young_people(number: Number) -> bool:
    return any(word in _words(number, "audience") for word in _YOUNG)


def _always_open(number: Number) -> bool:
    hours = _field(number, "hours")
    return isinstance(hours, str) and hours.replace(" ", "").startswith(("24/7", "24h"))


def _first_confirmed(numbers: list[Number]) -> Number | None:
    confirmed = [n for n in numbers if n.confirmed]
    chosen = confirmed or numbers
    return chosen[0] if chosen else None


def crisis_line(country: Country) -> Number | None:
    """A line for someone overwhelmed or thinking of suicide (e.g. 988 in the US)."""
    found = [
        n
        for n in country.lines
        if n.kind == "crisis"
        or "crisis" in _words(n, "purpose")
        or "suicide" in _words(n, "purpose")
    ]
    return _first_confirmed(found)


def youth_line(country: Country) -> Number | None:
    """A support line a young person can talk to: never a reporting or missing-children line."""
    young = [n for n in country.lines if is_for_young_people(n) and is_support_line(n)]
    only_young = [n for n in young if _only_for_young_people(n)]
    chosen = _first_confirmed(only_young) or _first_confirmed(young) or crisis_line(country)
    if chosen is not None:
        return chosen
    main = country.main_line()
    return main if main is not None and is_support_line(main) else None


def _dial(number: Number | None) -> str | None:
    # None, not "-": the sentence that names a missing line is left out whole (bot/i18n.py).
    return number.dial if number is not None else None


def _name(number: Number | None) -> str | None:
    return number.name if number is not None else None


def line_placeholders(words: Catalogue, country: Country) -> dict[str, str | None]:
    """Names, numbers and supported facts of the lines texts may name, for ``str.format``."""
    main = country.main_line()
    young = youth_line(country)
    crisis = crisis_line(country) or main
    return {
        "hotline_name": _name(main),
        "hotline_facts": facts(words, main),
        "child_line": _dial(young),
        "child_line_name": _name(young),
        "crisis_line": _dial(crisis),
        "crisis_line_name": _name(crisis),
    }
