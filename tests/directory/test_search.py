"""Searching the sample directory: by ZIP, by city in several languages, by need, by
language; open now first, then nearest, against a frozen clock."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.directory import Need, ServiceCard, UnknownPlace, search
from bot.directory.hours import OpenState
from bot.helpline import Helpline
from tests.directory.conftest import SUNDAY_10_NEW_YORK, WEDNESDAY_10_NEW_YORK


async def _names(
    helpline: Helpline,
    place: str,
    need: Need | None,
    *,
    language: str | None = None,
    now: dt.datetime = SUNDAY_10_NEW_YORK,
) -> list[str]:
    cards = await search(
        helpline.sessions, place_text=place, need=need, language=language, now=now, limit=10
    )
    return [card.name for card in cards]


async def test_a_zip_code_finds_shelters_open_now_first_then_nearest(loaded: Helpline) -> None:
    cards = await search(
        loaded.sessions,
        place_text="10001",
        need=Need.SHELTER,
        language=None,
        now=SUNDAY_10_NEW_YORK,
        limit=10,
    )
    # Sunday morning: only the 24-hour shelter is open; it comes before the nearer,
    # closed Chelsea shelter. The closed ones follow nearest first.
    assert [c.name for c in cards] == [
        "SAMPLE Harbor House Shelter",
        "SAMPLE Chelsea Family Shelter",
        "SAMPLE Youth Drop-In Center",
        "SAMPLE Bronx Safe Haven",
    ]
    assert [c.hours.state for c in cards] == [OpenState.OPEN] + [OpenState.CLOSED] * 3
    distances = [c.distance_km for c in cards[1:]]
    assert distances == sorted(d for d in distances if d is not None)
    assert cards[1].distance_km is not None and cards[1].distance_km < 1.0
    assert cards[1].hours.next_open is not None
    assert cards[1].hours.next_open.strftime("%a %H:%M") == "Mon 08:00"


async def test_on_a_weekday_morning_the_nearest_open_shelter_comes_first(
    loaded: Helpline,
) -> None:
    names = await _names(loaded, "10001", Need.SHELTER, now=WEDNESDAY_10_NEW_YORK)
    assert names == [
        "SAMPLE Chelsea Family Shelter",
        "SAMPLE Harbor House Shelter",
        "SAMPLE Bronx Safe Haven",
        "SAMPLE Youth Drop-In Center",  # opens at 14:00
    ]


@pytest.mark.parametrize("typed", ["New York", "Nueva York", "Нью-Йорк", "纽约", "nueva york, ny"])
async def test_a_city_is_found_by_its_name_in_several_languages(
    loaded: Helpline, typed: str
) -> None:
    names = await _names(loaded, typed, Need.SHELTER)
    assert names[0] == "SAMPLE Harbor House Shelter"
    assert set(names) == {
        "SAMPLE Harbor House Shelter",
        "SAMPLE Chelsea Family Shelter",
        "SAMPLE Youth Drop-In Center",
        "SAMPLE Bronx Safe Haven",
    }


async def test_accents_and_other_spellings_resolve_the_same_city(loaded: Helpline) -> None:
    assert await _names(loaded, "Los Ángeles", Need.LEGAL) == await _names(
        loaded, "los angeles", Need.LEGAL
    )
    assert await _names(loaded, "Londres", Need.SHELTER) == ["SAMPLE Thames Safe House"]


async def test_need_selects_the_kind_of_service(loaded: Helpline) -> None:
    assert await _names(loaded, "Houston", Need.COUNSELLING) == ["SAMPLE Lotus Counselling"]
    # The state-wide line is found through its service area ("New York"), after the
    # services with an address near by.
    assert await _names(loaded, "10001", Need.LEGAL) == [
        "SAMPLE Liberty Immigration Legal Aid",
        "SAMPLE New York State Immigrant Legal Line",
    ]
    assert await _names(loaded, "Toronto", Need.LABOUR) == ["SAMPLE Migrant Workers Support Line"]
    assert await _names(loaded, "Houston", Need.SUBSTANCE) == []


async def test_language_keeps_only_services_that_speak_it(loaded: Helpline) -> None:
    assert await _names(loaded, "Houston", Need.LEGAL, language="vi") == [
        "SAMPLE Gulf Coast Legal Aid"
    ]
    assert await _names(loaded, "10001", Need.SHELTER, language="ar") == ["SAMPLE Bronx Safe Haven"]
    assert await _names(loaded, "Houston", Need.SHELTER, language="th") == []
    # English is assumed everywhere (HSDS lists languages other than English).
    assert len(await _names(loaded, "10001", Need.SHELTER, language="en")) == 4


async def test_cards_carry_phone_hours_languages_and_verification(loaded: Helpline) -> None:
    cards: list[ServiceCard] = await search(
        loaded.sessions,
        place_text="London",
        need=Need.MEDICAL,
        language="ro",
        now=SUNDAY_10_NEW_YORK,
    )
    (card,) = cards
    assert card.phone == "+44 20 7946 0123"
    assert card.languages[0] == "ro"
    assert str(card.last_verified) == "2026-10-28"
    # Open Mondays 09:00 London time (and the first Saturday of the month).
    assert card.hours.state == OpenState.CLOSED
    assert card.hours.next_open is not None
    assert card.hours.next_open.isoformat() == "2026-11-30T09:00:00+00:00"


async def test_a_first_saturday_clinic_is_open_then(loaded: Helpline) -> None:
    first_saturday = dt.datetime(2026, 12, 5, 11, 0, tzinfo=dt.UTC)
    cards = await search(
        loaded.sessions, place_text="London", need=Need.MEDICAL, language=None, now=first_saturday
    )
    assert cards[0].hours.state == OpenState.OPEN
    assert cards[0].hours.until is not None and cards[0].hours.until.hour == 14


async def test_metadata_date_stands_in_for_a_missing_assured_date(loaded: Helpline) -> None:
    (card,) = await search(
        loaded.sessions,
        place_text="10002",
        need=Need.MEDICAL,
        language=None,
        now=SUNDAY_10_NEW_YORK,
    )
    assert str(card.last_verified) == "2026-09-01"


async def test_an_unknown_place_raises_without_repeating_it(loaded: Helpline) -> None:
    with pytest.raises(UnknownPlace) as raised:
        await search(
            loaded.sessions,
            place_text="Canary-Town-7781",
            need=Need.SHELTER,
            language=None,
            now=SUNDAY_10_NEW_YORK,
        )
    assert "Canary" not in str(raised.value) and "Canary" not in repr(raised.value)
