"""The hotline directory: every number the help line shows, read from content/hotlines.toml."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from content import HOTLINES_FILE

Kind = Literal["emergency", "trafficking", "child", "crisis", "report"]


@dataclass(frozen=True, slots=True)
class Number:
    id: str
    name: str
    kind: Kind
    source: str
    checked: dt.date
    confirmed: bool
    call: str | None = None
    text: str | None = None
    text_keyword: str | None = None
    web: str | None = None
    hours: str | None = None
    languages: str | None = None
    note: str | None = None
    flag: str | None = None
    source_date: dt.date | None = None

    @property
    def dial(self) -> str:
        """The one thing to dial or text: the voice number, else the text number."""
        return self.call or self.text or self.web or ""


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    emergency: tuple[Number, ...]
    lines: tuple[Number, ...]
    referral: Number | None

    def shown_emergency(self) -> Number | None:
        """The emergency number to give a person: the first confirmed, else the first at all.

        A flagged emergency number is still better than none in a danger reply; content
        check lists every flagged entry so operators confirm it before launch.
        """
        return _prefer_confirmed(self.emergency)

    def shown_lines(self) -> tuple[Number, ...]:
        """Lines for the hotline list: confirmed ones, and flagged ones only for a kind with no confirmed line."""
        confirmed_kinds = {n.kind for n in self.lines if n.confirmed}
        return tuple(n for n in self.lines if n.confirmed or n.kind not in confirmed_kinds)

    def main_line(self) -> Number | None:
        """The 24/7 line to name in safety advice and when no advocate is online."""
        if self.referral is not None and self.referral.confirmed:
            return self.referral
        return _prefer_confirmed(tuple(n for n in self.lines if n.kind == "trafficking"))

    def report_line(self) -> Number | None:
        """Where an image of a child can be reported for removal: a child line with a web form first."""
        children = tuple(n for n in self.lines if n.kind == "child")
        with_web = tuple(n for n in children if n.web)
        return _prefer_confirmed(with_web) or self.child_line()

    def child_line(self) -> Number | None:
        return (
            _prefer_confirmed(tuple(n for n in self.lines if n.kind == "child")) or self.main_line()
        )

    def urgent_number(self) -> Number | None:
        """What a danger reply names: the emergency number, else the 24/7 line."""
        return self.shown_emergency() or self.main_line()


def _prefer_confirmed(numbers: tuple[Number, ...]) -> Number | None:
    for number in numbers:
        if number.confirmed:
            return number
    return numbers[0] if numbers else None


@dataclass(frozen=True, slots=True)
class Directory:
    countries: dict[str, Country]
    numbers: dict[str, Number]

    def country(self, code: str | None, default: str) -> Country:
        if code and code.upper() in self.countries:
            return self.countries[code.upper()]
        return self.countries[default.upper()]

    def country_codes(self) -> tuple[str, ...]:
        return tuple(self.countries)


class DirectoryError(ValueError):
    """The hotline file is malformed; the help line must not start with it."""


def _number(number_id: str, spec: dict[str, Any]) -> Number:
    status = spec.get("status")
    if status not in ("confirmed", "flagged"):
        raise DirectoryError(f"{number_id}: status must be confirmed or flagged")
    if status == "flagged" and not spec.get("flag"):
        raise DirectoryError(f"{number_id}: a flagged number must say why")
    for required in ("name", "kind", "source", "checked"):
        if required not in spec:
            raise DirectoryError(f"{number_id}: missing {required}")
    if not (spec.get("call") or spec.get("text") or spec.get("web")):
        raise DirectoryError(f"{number_id}: needs call, text or web")
    return Number(
        id=number_id,
        name=spec["name"],
        kind=spec["kind"],
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
    )


def parse_directory(data: dict[str, Any]) -> Directory:
    numbers = {key: _number(key, spec) for key, spec in data.get("numbers", {}).items()}

    def lookup(country: str, number_id: str) -> Number:
        if number_id not in numbers:
            raise DirectoryError(f"{country}: unknown number id {number_id!r}")
        return numbers[number_id]

    countries: dict[str, Country] = {}
    for code, spec in data.get("countries", {}).items():
        referral = spec.get("referral")
        countries[code] = Country(
            code=code,
            emergency=tuple(lookup(code, n) for n in spec.get("emergency", ())),
            lines=tuple(lookup(code, n) for n in spec.get("lines", ())),
            referral=lookup(code, referral) if referral else None,
        )
    return Directory(countries=countries, numbers=numbers)


@cache
def directory() -> Directory:
    with HOTLINES_FILE.open("rb") as handle:
        return parse_directory(tomllib.load(handle))
