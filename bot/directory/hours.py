"""Opening hours from HSDS schedules: is a service open now, until when, when next.

Weekly rules (``freq`` WEEKLY or empty, ``byday`` such as ``MO,TU``) and monthly
ordinal days (``2MO``, ``-1FR``) are understood, with ``opens_at``/``closes_at`` in
HH:MM. Times are read in the offset they carry (``09:00-05:00``), else the schedule's
``timezone`` offset, else the location's time zone, else UTC. A closing time at or
before the opening time runs past midnight.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::\d{2})?\s*(Z|[+-]\d{2}:?\d{2})?", re.IGNORECASE)
_DAY = re.compile(r"([+-]?\d)?(MO|TU|WE|TH|FR|SA|SU)")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_LOOKAHEAD_DAYS = 8


class OpenState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"
    """No schedule the bot can read: shown as 'call for hours', sorted after open ones."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One schedule row, ready to evaluate."""

    byday: tuple[tuple[int, int], ...]
    """(ordinal or 0, weekday 0=Monday) pairs; empty means every day."""
    monthly: bool
    opens: dt.time
    closes: dt.time
    zone: dt.tzinfo
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Hours:
    state: OpenState
    until: dt.datetime | None = None
    """While open: when it closes, in the service's local time (None: open around the clock)."""
    next_open: dt.datetime | None = None
    """While closed: when it next opens, in the service's local time."""


def parse_time(text: str) -> tuple[dt.time, dt.tzinfo | None] | None:
    """Read 'HH:MM' with an optional 'Z' or offset; 24:00 is the end of the day."""
    match = _TIME.fullmatch(text.strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if minute > 59 or hour > 24 or (hour == 24 and minute):
        return None
    when = dt.time.max if hour == 24 else dt.time(hour, minute)
    offset = match.group(3)
    if not offset:
        return when, None
    if offset.upper() == "Z":
        return when, dt.UTC
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return when, dt.timezone(sign * delta)


def parse_byday(text: str) -> tuple[tuple[int, int], ...] | None:
    """Read 'MO,TU' or '2MO,-1FR'; None if a part is not a day."""
    days: list[tuple[int, int]] = []
    for part in (p.strip().upper() for p in text.split(",")):
        if not part:
            continue
        match = _DAY.fullmatch(part)
        if not match:
            return None
        days.append((int(match.group(1) or 0), WEEKDAYS.index(match.group(2))))
    return tuple(days)


def zone_for(opens_at: str, offset_hours: float | None, location_zone: str) -> dt.tzinfo:
    parsed = parse_time(opens_at)
    if parsed is not None and parsed[1] is not None:
        return parsed[1]
    if offset_hours is not None:
        return dt.timezone(dt.timedelta(hours=offset_hours))
    if location_zone:
        try:
            return ZoneInfo(location_zone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return dt.UTC


def hours(rules: Sequence[Rule], now: dt.datetime) -> Hours:
    """Whether the rules say open at ``now`` (aware), until when, or when next."""
    if not rules:
        return Hours(OpenState.UNKNOWN)
    spans = sorted(span for rule in rules for span in _spans(rule, now))
    if not spans:
        return Hours(OpenState.CLOSED)
    current = _span_containing(spans, now)
    if current is not None:
        end = current[1]
        return Hours(OpenState.OPEN, until=None if end - now > dt.timedelta(days=6) else end)
    upcoming = [start for start, _ in spans if start > now]
    return Hours(OpenState.CLOSED, next_open=min(upcoming) if upcoming else None)


def _span_containing(
    spans: Sequence[tuple[dt.datetime, dt.datetime]], now: dt.datetime
) -> tuple[dt.datetime, dt.datetime] | None:
    """The merged span around ``now``: back-to-back days make one span (open 24/7)."""
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1] + dt.timedelta(minutes=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return next(((s, e) for s, e in merged if s <= now < e), None)


def _spans(rule: Rule, now: dt.datetime) -> Iterable[tuple[dt.datetime, dt.datetime]]:
    today = now.astimezone(rule.zone).date()
    for offset in range(-1, _LOOKAHEAD_DAYS):
        day = today + dt.timedelta(days=offset)
        if not _applies(rule, day):
            continue
        start = dt.datetime.combine(day, rule.opens, rule.zone)
        if rule.closes == dt.time.max:
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), rule.zone)
        elif rule.closes <= rule.opens:
            end = dt.datetime.combine(day + dt.timedelta(days=1), rule.closes, rule.zone)
        else:
            end = dt.datetime.combine(day, rule.closes, rule.zone)
        yield start, end


def _applies(rule: Rule, day: dt.date) -> bool:
    if rule.valid_from and day < rule.valid_from:
        return False
    if rule.valid_to and day > rule.valid_to:
        return False
    if not rule.byday:
        return True
    for ordinal, weekday in rule.byday:
        if day.weekday() != weekday:
            continue
        if not rule.monthly or ordinal in (0, _nth_weekday(day), _nth_from_end(day)):
            return True
    return False


def _nth_weekday(day: dt.date) -> int:
    return (day.day - 1) // 7 + 1


def _nth_from_end(day: dt.date) -> int:
    next_month = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    days_left = (next_month - day).days - 1
    return -(days_left // 7 + 1)
