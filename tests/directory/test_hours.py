"""Opening hours read from HSDS schedule fields."""

from __future__ import annotations

import datetime as dt

from bot.directory.hours import OpenState, Rule, hours, parse_byday, parse_time, zone_for

NEW_YORK = zone_for("09:00", None, "America/New_York")


def _rule(byday: str, opens: str, closes: str, zone: dt.tzinfo = NEW_YORK) -> Rule:
    days, start, end = parse_byday(byday), parse_time(opens), parse_time(closes)
    assert days is not None and start is not None and end is not None
    return Rule(byday=days, monthly=False, opens=start[0], closes=end[0], zone=zone)


def test_a_night_shelter_open_past_midnight_is_open_at_two_in_the_morning() -> None:
    night = _rule("FR", "20:00", "06:00")
    saturday_2am = dt.datetime(2026, 12, 5, 7, 0, tzinfo=dt.UTC)  # 02:00 in New York
    result = hours([night], saturday_2am)
    assert result.state == OpenState.OPEN
    assert result.until is not None and result.until.strftime("%a %H:%M") == "Sat 06:00"


def test_an_offset_in_opens_at_wins_over_the_location_zone() -> None:
    zone = zone_for("09:00-06:00", None, "America/New_York")
    rule = _rule("MO", "09:00", "10:00", zone)
    monday_15_utc = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)  # 09:00 at UTC-6
    assert hours([rule], monday_15_utc).state == OpenState.OPEN


def test_every_day_around_the_clock_reads_as_always_open() -> None:
    always = _rule("MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59")
    result = hours([always], dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC))
    assert result == type(result)(OpenState.OPEN, until=None)


def test_no_schedule_is_unknown_not_closed() -> None:
    assert hours([], dt.datetime(2026, 11, 29, tzinfo=dt.UTC)).state == OpenState.UNKNOWN


def test_malformed_times_and_days_are_refused() -> None:
    assert parse_time("9am") is None
    assert parse_time("25:00") is None
    assert parse_byday("MO,XX") is None
    assert parse_byday("2MO,-1FR") == ((2, 0), (-1, 4))
