"""The hotline directory: every number the help line shows, read from content/hotlines.toml."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from bot.world import WorldCountry, read_sources, world
from content import HOTLINES_FILE

if TYPE_CHECKING:
    from bot.i18n import Catalogue

Purpose = Literal["emergency", "trafficking", "child", "women", "crisis", "report", "text-only"]
Audience = Literal["everyone", "adults", "children", "women"]
Mode = Literal["voice", "text", "web"]
PURPOSES: tuple[str, ...] = (
    "emergency",
    "trafficking",
    "child",
    "women",
    "crisis",
    "report",
    "text-only",
)
AUDIENCES: tuple[str, ...] = ("everyone", "adults", "children", "women")
Kind = Purpose  # the name used before lines had an audience


@dataclass(frozen=True, slots=True)
class Number:
    id: str
    name: str
    purpose: Purpose
    source: str
    checked: dt.date
    confirmed: bool
    call: str | None = None
    text: str | None = None
    text_keyword: str | None = None
    web: str | None = None
    hours: str | None = None
    """"24/7", another span, or None when the source does not say."""
    languages: str | None = None
    note: str | None = None
    flag: str | None = None
    source_date: dt.date | None = None
    audience: Audience = "everyone"
    interpreters: bool | None = None
    """None: the source does not say."""
    confidential: bool | None = None
    report_only: bool = False
    """A line that takes reports (CyberTipline, Disque 100): never "someone to talk to"."""
    services: tuple[str, ...] = ()
    """For emergency numbers: police / ambulance / fire, where the source says."""
    mode: Mode = "voice"

    @property
    def kind(self) -> Purpose:
        return self.purpose

    @property
    def dial(self) -> str:
        """The one thing to dial or text: the voice number, else the text number."""
        return self.call or self.text or self.web or ""

    @property
    def always_open(self) -> bool:
        return (self.hours or "").replace(" ", "").startswith(("24/7", "24h"))

    def serves_adults(self) -> bool:
        return self.audience in ("everyone", "adults")

    def serves_children(self) -> bool:
        return self.audience in ("everyone", "children")


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    """ISO 3166-1 code; "" when we do not know where the person is."""
    emergency: tuple[Number, ...]
    lines: tuple[Number, ...]
    referral: Number | None
    fallback: str = "112"
    """The number mobile handsets here fall back to: 112 or 911."""
    curated: bool = False
    """Lines checked by us (content/hotlines.toml), not only the world emergency data."""

    @property
    def known(self) -> bool:
        return bool(self.code)

    def shown_emergency(self) -> Number | None:
        """The emergency number to give a person: the first confirmed, else the first at all.

        A flagged emergency number is still better than none in a danger reply; content
        check lists every flagged entry so operators confirm it before launch.
        """
        return _prefer_confirmed(self.emergency)

    def shown_lines(self) -> tuple[Number, ...]:
        """Lines for the hotline list: confirmed ones; a flagged one only for a purpose with none.

        A flagged text-only line is never listed: it is for a person who asks how to text,
        once an operator has confirmed it.
        """
        confirmed = {n.purpose for n in self.lines if n.confirmed}
        return tuple(
            n
            for n in self.lines
            if n.confirmed or (n.purpose not in confirmed and n.purpose != "text-only")
        )

    def text_lines(self) -> tuple[Number, ...]:
        """Confirmed lines a person can text (a flagged one is never offered: an operator
        confirms it first, and content check lists it until then)."""
        return tuple(
            n
            for n in self.lines
            if n.confirmed and (n.purpose == "text-only" or n.mode == "text" or n.text)
        )

    def talk_line(self) -> Number | None:
        """A line that answers adults 24/7 and is there to talk (not only to take reports)."""
        candidates = [self.referral] if self.referral is not None else []
        candidates += [n for n in self.lines if n.purpose in ("trafficking", "crisis")]
        fitting = tuple(
            n
            for n in candidates
            if n is not None and not n.report_only and n.serves_adults() and n.always_open
        )
        return _prefer_confirmed(fitting)

    def main_line(self) -> Number | None:
        """The 24/7 line to name in safety advice and when no advocate is online."""
        return self.talk_line()

    def report_line(self) -> Number | None:
        """Where an image of a child can be reported for removal: a report line with a web form first."""
        reports = tuple(n for n in self.lines if n.report_only or n.purpose == "report")
        children = tuple(n for n in self.lines if n.purpose == "child")
        with_web = tuple(n for n in reports + children if n.web)
        return _prefer_confirmed(with_web) or _prefer_confirmed(reports) or self.child_line()

    def child_line(self) -> Number | None:
        """A line for under-18s to talk to, else the adult 24/7 line (which serves everyone)."""
        children = tuple(
            n
            for n in self.lines
            if n.purpose == "child" and not n.report_only and n.serves_children()
        )
        only_children = tuple(n for n in children if n.audience == "children")
        return _prefer_confirmed(only_children) or _prefer_confirmed(children) or self.talk_line()

    def urgent_number(self) -> Number | None:
        """What a danger reply names: the emergency number, never a reporting line."""
        return self.shown_emergency()


def emergency_dial(country: Country, mobile: tuple[str, ...]) -> str:
    """The number for a danger reply: the country's own, else what every mobile dials."""
    number = country.urgent_number()
    if number is not None:
        return number.dial
    if country.known:
        return country.fallback
    return " / ".join(mobile)  # unknown country: 112 and 911 both reach help from a mobile


def line_params(words: Catalogue, country: Country, directory_: Directory) -> dict[str, str | None]:
    """The placeholders naming lines: None for a line this country does not have."""
    return {
        "emergency": emergency_dial(country, directory_.mobile),
        "mobile": country.fallback if country.known else " / ".join(directory_.mobile),
        "hotline": _dial(country.talk_line()),
        "child_line": _dial(country.child_line()),
        "country": words.country_name(country.code)
        if country.known
        else words.text("country.yours"),
    }


def _dial(number: Number | None) -> str | None:
    return number.dial if number is not None else None


UNKNOWN = Country(code="", emergency=(), lines=(), referral=None)


def _prefer_confirmed(numbers: tuple[Number, ...]) -> Number | None:
    for number in numbers:
        if number.confirmed:
            return number
    return numbers[0] if numbers else None


@dataclass(frozen=True, slots=True)
class Directory:
    countries: dict[str, Country]
    """Every country with a number: the curated ones and the world emergency data."""
    numbers: dict[str, Number]
    """Every curated number (content/hotlines.toml), by id."""
    mobile: tuple[str, ...] = ("112", "911")
    """The numbers every mobile handset routes to emergency services (3GPP TS 22.101)."""

    def country(self, code: str | None, default: str | None = None) -> Country:
        """The country ``code``, or UNKNOWN. ``default`` is never used in its place.

        The parameter stays for callers written when the setting stood in for an unknown
        country: giving someone another country's numbers is worse than giving none.
        """
        del default
        if code and code.upper() in self.countries:
            return self.countries[code.upper()]
        return UNKNOWN

    def country_codes(self) -> tuple[str, ...]:
        return tuple(self.countries)

    def curated_codes(self) -> tuple[str, ...]:
        return tuple(code for code, country in self.countries.items() if country.curated)


class DirectoryError(ValueError):
    """The hotline file is malformed; the help line must not start with it."""


def _number(number_id: str, spec: dict[str, Any]) -> Number:
    status = spec.get("status")
    if status not in ("confirmed", "flagged"):
        raise DirectoryError(f"{number_id}: status must be confirmed or flagged")
    if status == "flagged" and not spec.get("flag"):
        raise DirectoryError(f"{number_id}: a flagged number must say why")
    for required in ("name", "purpose", "source", "checked"):
        if required not in spec:
            raise DirectoryError(f"{number_id}: missing {required}")
    if spec["purpose"] not in PURPOSES:
        raise DirectoryError(f"{number_id}: purpose must be one of {', '.join(PURPOSES)}")
    audience = spec.get("audience", "everyone")
    if audience not in AUDIENCES:
        raise DirectoryError(f"{number_id}: audience must be one of {', '.join(AUDIENCES)}")
    if not (spec.get("call") or spec.get("text") or spec.get("web")):
        raise DirectoryError(f"{number_id}: needs call, text or web")
    mode: Mode = spec.get("mode") or (
        "voice" if spec.get("call") else "text" if spec.get("text") else "web"
    )
    if mode not in ("voice", "text", "web"):
        raise DirectoryError(f"{number_id}: mode must be voice, text or web")
    for flag in ("interpreters", "confidential", "report_only"):
        if flag in spec and not isinstance(spec[flag], bool):
            raise DirectoryError(f"{number_id}: {flag} must be true or false")
    return Number(
        id=number_id,
        name=spec["name"],
        purpose=spec["purpose"],
        source=spec["source"],
        checked=spec["checked"],
        confirmed=status == "confirmed",
        call=spec.get("call"),
        text=spec.get("text"),
        text_keyword=spec.get("text_keyword"),
        web=spec.get("web"),
        hours=spec.get("hours"),
        languages=spec.get("languages"),
        note=spec.get("note"),
        flag=spec.get("flag"),
        source_date=spec.get("source_date"),
        audience=audience,
        interpreters=spec.get("interpreters"),
        confidential=spec.get("confidential"),
        report_only=spec.get("report_only", False),
        mode=mode,
    )


def world_numbers(entry: WorldCountry, checked: dt.date) -> tuple[Number, ...]:
    """A world-data country's emergency numbers, the one to give first at the front."""
    first = entry.first_number()
    ordered = ([first] if first else []) + [n for n in entry.numbers if n is not first]
    return tuple(
        Number(
            id=f"world-{entry.code}-{number.dial}",
            name="Emergency",
            purpose="emergency",
            source=number.source,
            checked=checked,
            confirmed=entry.flag is None,
            call=number.dial,
            flag=entry.flag,
            services=number.services,
        )
        for number in ordered
        if number is first or set(number.services) & {"police", "ambulance", "fire"}
    )


def parse_directory(
    data: dict[str, Any], world_data: dict[str, WorldCountry] | None = None
) -> Directory:
    """Read the curated directory; every other country gets its world emergency numbers."""
    numbers = {key: _number(key, spec) for key, spec in data.get("numbers", {}).items()}
    world_data = world_data or {}
    taken = read_sources().taken if world_data else dt.date.min

    def lookup(country: str, number_id: str) -> Number:
        if number_id not in numbers:
            raise DirectoryError(f"{country}: unknown number id {number_id!r}")
        return numbers[number_id]

    countries: dict[str, Country] = {
        code: Country(
            code=code,
            emergency=world_numbers(entry, taken),
            lines=(),
            referral=None,
            fallback=entry.fallback,
        )
        for code, entry in world_data.items()
    }
    for code, spec in data.get("countries", {}).items():
        referral = spec.get("referral")
        emergency = tuple(lookup(code, n) for n in spec.get("emergency", ()))
        world_entry = countries.get(code)
        if not emergency and world_entry is not None:
            emergency = world_entry.emergency  # the curated entry keeps the world numbers
        countries[code] = Country(
            code=code,
            emergency=emergency,
            lines=tuple(lookup(code, n) for n in spec.get("lines", ())),
            referral=lookup(code, referral) if referral else None,
            fallback=spec.get("fallback") or (world_entry.fallback if world_entry else "112"),
            curated=True,
        )
    mobile = tuple(data.get("mobile", {}).get("numbers", ("112", "911")))
    return Directory(countries=countries, numbers=numbers, mobile=mobile)


@cache
def directory() -> Directory:
    with HOTLINES_FILE.open("rb") as handle:
        return parse_directory(tomllib.load(handle), world())
