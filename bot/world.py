"""Every country's emergency numbers, from data shipped in content/world/.

The base is Android's emergency-number database (``eccdata.txt``, Apache-2.0): police,
ambulance and fire numbers for about 226 countries, and per country the number every
mobile handset falls back to (112 or 911). Countries it lacks are filled from the
emergency patterns in ``phonenumbers``' short-number metadata (Apache-2.0). Where the
sources are known to disagree the entry carries a flag with the reason, and
``helpline content check`` lists it until an operator confirms it.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from phonenumbers import SUPPORTED_SHORT_REGIONS, region_codes_for_country_code
from phonenumbers.phonemetadata import PhoneMetadata
from phonenumbers.shortnumberinfo import is_emergency_number

from content import CONTENT_DIR

WORLD_DIR = CONTENT_DIR / "world"
ECC_FILE = WORLD_DIR / "eccdata.txt"
SOURCES_FILE = WORLD_DIR / "sources.toml"

SERVICES = ("police", "ambulance", "fire")
_ECC_TYPES = {
    "POLICE": "police",
    "AMBULANCE": "ambulance",
    "FIRE": "fire",
    "MARINE_GUARD": "marine",
    "MOUNTAIN_RESCUE": "mountain",
}


@dataclass(frozen=True, slots=True)
class EmergencyNumber:
    dial: str
    services: tuple[str, ...]
    """police / ambulance / fire / marine / mountain; empty when the source does not say."""
    routed_as_emergency: bool
    """False where the phone dials it as an ordinary call (still a real service number)."""
    source: str


@dataclass(frozen=True, slots=True)
class WorldCountry:
    code: str
    numbers: tuple[EmergencyNumber, ...]
    fallback: str
    """The number a mobile handset in this country falls back to: 112 or 911."""
    source: str
    flag: str | None = None

    def first_number(self) -> EmergencyNumber | None:
        """The number to give a person in danger: police first, the widest service first."""
        reachable = [n for n in self.numbers if set(n.services) & set(SERVICES)] or list(
            self.numbers
        )
        if not reachable:
            return None
        return max(
            reachable,
            key=lambda n: ("police" in n.services, len(set(n.services) & set(SERVICES))),
        )


@dataclass(frozen=True, slots=True)
class WorldSources:
    ecc_commit: str
    ecc_date: dt.date
    taken: dt.date
    disputed: dict[str, str]


class WorldDataError(ValueError):
    """The shipped world data is malformed; the help line must not start with it."""


_TOKEN = re.compile(
    r'\s*(?:(?P<open>[A-Za-z_]+)\s*\{|(?P<close>\})|(?P<key>[A-Za-z_]+):\s*(?P<value>"[^"]*"|[A-Za-z_0-9]+))'
)


def parse_eccdata(text: str, *, source: str) -> dict[str, WorldCountry]:
    """Read the protobuf text format of eccdata.txt (the three messages it uses, no more)."""
    countries: dict[str, WorldCountry] = {}
    stack: list[dict[str, list[object]]] = [{}]
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise WorldDataError(f"eccdata.txt: cannot read at character {position}")
        position = match.end()
        if match["open"]:
            child: dict[str, list[object]] = {}
            stack[-1].setdefault(match["open"], []).append(child)
            stack.append(child)
        elif match["close"]:
            if len(stack) == 1:
                raise WorldDataError("eccdata.txt: unbalanced braces")
            stack.pop()
        else:
            stack[-1].setdefault(match["key"], []).append(match["value"].strip('"'))
    if len(stack) != 1:
        raise WorldDataError("eccdata.txt: unbalanced braces")
    for country in stack[0].get("countries", []):
        assert isinstance(country, dict)
        code = str(country["iso_code"][0])
        numbers = tuple(
            EmergencyNumber(
                dial=str(ecc["phone_number"][0]),
                services=tuple(
                    _ECC_TYPES[str(kind)] for kind in ecc.get("types", []) if kind in _ECC_TYPES
                ),
                routed_as_emergency=ecc.get("routing", ["EMERGENCY"])[0] != "NORMAL",
                source=source,
            )
            for ecc in country.get("eccs", [])
            if isinstance(ecc, dict)
        )
        fallback = str(country.get("ecc_fallback", ["112"])[0])
        if fallback not in ("112", "911"):
            raise WorldDataError(f"eccdata.txt: {code} falls back to neither 112 nor 911")
        countries[code] = WorldCountry(code=code, numbers=numbers, fallback=fallback, source=source)
    return countries


def short_number_emergencies(region: str) -> tuple[str, ...]:
    """Every number of two to four digits that phonenumbers' short-number metadata calls emergency."""
    metadata = PhoneMetadata.short_metadata_for_region(region)
    if metadata is None or metadata.emergency is None:
        return ()
    pattern = metadata.emergency.national_number_pattern
    if not pattern:
        return ()
    compiled = re.compile(pattern)
    # The patterns are short alternations of fixed digits ("112|999"): trying every
    # string of two to four digits lists them exactly, in about ten thousand checks.
    return tuple(
        candidate
        for length in (2, 3, 4)
        for value in range(10**length)
        if compiled.fullmatch(candidate := f"{value:0{length}d}")
        and is_emergency_number(candidate, region)
    )


def handset_fallback(region: str) -> str:
    """911 where the region shares North America's calling code, else 112 (3GPP TS 22.101)."""
    return "911" if region in _NANP_REGIONS else "112"


_NANP_REGIONS = frozenset(region_codes_for_country_code(1))


def read_sources(path: Path = SOURCES_FILE) -> WorldSources:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    ecc = data["eccdata"]
    return WorldSources(
        ecc_commit=ecc["commit"],
        ecc_date=ecc["date"],
        taken=ecc["taken"],
        disputed={code: str(reason) for code, reason in data.get("disputed", {}).items()},
    )


@cache
def world() -> dict[str, WorldCountry]:
    """Every country with an emergency number: Android's data, gaps filled from phonenumbers."""
    sources = read_sources()
    ecc_source = f"AOSP eccdata.txt @ {sources.ecc_commit[:12]} ({sources.ecc_date})"
    countries = parse_eccdata(ECC_FILE.read_text(encoding="utf-8"), source=ecc_source)
    short_source = "phonenumbers short-number metadata (emergency pattern)"
    for region in sorted(set(SUPPORTED_SHORT_REGIONS) - set(countries)):
        dials = short_number_emergencies(region)
        if not dials:
            continue
        countries[region] = WorldCountry(
            code=region,
            numbers=tuple(EmergencyNumber(d, (), True, short_source) for d in dials),
            fallback=handset_fallback(region),
            source=short_source,
            flag="only phonenumbers' pattern lists it; services (police, ambulance) not labelled",
        )
    for code, reason in sources.disputed.items():
        if code in countries:
            entry = countries[code]
            countries[code] = WorldCountry(
                entry.code, entry.numbers, entry.fallback, entry.source, flag=reason
            )
    return countries
