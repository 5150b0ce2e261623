"""The line's history for supervisors, from aggregate counts and ticket times only.

Sources: ``daily_count`` (contacts by day, channel, language and country; outcomes
kept after their tickets are purged; minutes with people waiting and nobody online)
and the ``ticket`` rows' times, which exist only for the ticket retention window
(30 days after closing by default; see PRIVACY.md). Nothing here reads or returns an
alias, a ticket name or anything anyone wrote. Every figure computed from fewer than
``SUPPRESS_BELOW`` people is returned as None and shown as "<5", wherever it is shown.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlmodel import col, select

from bot.counts import SUPPRESS_BELOW, suppressed
from bot.db import SessionFactory
from bot.models import DailyCount, Ticket
from bot.queue import OUTCOME_CODES
from bot.states import TicketStatus

CONTACT = "contact"
UNSTAFFED = "unstaffed:"
"""Metric prefix: half-minutes, by hour (``unstaffed:07``), with people waiting and nobody online."""
MAX_DAYS = 366


@dataclass(frozen=True, slots=True)
class Range:
    """Whole days, ``first`` to ``last`` inclusive (UTC)."""

    first: dt.date
    last: dt.date

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(n) for n in range((self.last - self.first).days + 1)]

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(), dt.UTC)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.last + dt.timedelta(1), dt.time(), dt.UTC)

    @classmethod
    def parse(cls, first: str | None, last: str | None, today: dt.date) -> Range:
        """The range asked for, or the last fortnight; never longer than a year, never reversed."""
        try:
            end = dt.date.fromisoformat(last) if last else today
        except ValueError:
            end = today
        try:
            start = dt.date.fromisoformat(first) if first else end - dt.timedelta(13)
        except ValueError:
            start = end - dt.timedelta(13)
        if start > end:
            start, end = end, start
        start = max(start, end - dt.timedelta(MAX_DAYS - 1))
        return cls(start, end)


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    values: tuple[int | None, ...]
    """One value per category; None where fewer than five people are behind it."""


@dataclass(frozen=True, slots=True)
class Figures:
    """One chart's numbers: categories along one axis, one or more series."""

    categories: tuple[str, ...]
    series: tuple[Series, ...]


def _hide(values: Iterable[int]) -> tuple[int | None, ...]:
    return tuple(suppressed(v) for v in values)


def nearest_rank(values: Sequence[float], share: float) -> float:
    """The ``share`` quantile by nearest rank (0.5 median, 0.9 the 90th percentile)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


async def _counts(
    sessions: SessionFactory, span: Range, *, metric: str | None = None, prefix: str | None = None
) -> list[DailyCount]:
    query = select(DailyCount).where(col(DailyCount.day) >= span.first)
    query = query.where(col(DailyCount.day) <= span.last)
    if metric is not None:
        query = query.where(DailyCount.metric == metric)
    if prefix is not None:
        query = query.where(col(DailyCount.metric).startswith(prefix))
    async with sessions() as session:
        return list((await session.exec(query)).all())


OTHER = "other"


async def contacts_by_day(
    sessions: SessionFactory, span: Range, by: str, *, top: int | None = None
) -> Figures:
    """Contacts (new sessions) per day, one series per channel, language or country.

    With ``top``, the largest ``top`` series and one ``other`` series summing the rest
    (summed before small counts are hidden, so the rest is hidden only if it is small).
    """
    per: defaultdict[str, Counter[dt.date]] = defaultdict(Counter)
    for row in await _counts(sessions, span, metric=CONTACT):
        per[str(getattr(row, by))][row.day] += row.count
    order = sorted(per, key=lambda k: (-sum(per[k].values()), k))
    if top is not None and len(order) > top + 1:
        rest = order[top:]
        order = order[:top]
        per[OTHER] = sum((per[key] for key in rest), Counter())
        order.append(OTHER)
    days = span.days
    series = tuple(Series(key, _hide(per[key][day] for day in days)) for key in order)
    return Figures(tuple(day.isoformat() for day in days), series)


async def contacts_total(sessions: SessionFactory, span: Range, by: str) -> Figures:
    """Contacts over the whole range by language or country, largest first."""
    totals: Counter[str] = Counter()
    for row in await _counts(sessions, span, metric=CONTACT):
        totals[str(getattr(row, by))] += row.count
    keys = tuple(key for key, _ in totals.most_common())
    return Figures(keys, (Series("contacts", _hide(totals[key] for key in keys)),))


async def _tickets(sessions: SessionFactory, span: Range) -> list[Ticket]:
    async with sessions() as session:
        rows = await session.exec(
            select(Ticket)
            .where(col(Ticket.created_at) >= span.start)
            .where(col(Ticket.created_at) < span.end)
        )
        return list(rows.all())


def _day(moment: dt.datetime) -> dt.date:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).date()


def _seconds(later: dt.datetime, earlier: dt.datetime) -> float:
    def aware(m: dt.datetime) -> dt.datetime:
        return m if m.tzinfo is not None else m.replace(tzinfo=dt.UTC)

    return max(0.0, (aware(later) - aware(earlier)).total_seconds())


async def asked_for_a_person(sessions: SessionFactory, span: Range) -> Figures:
    """Per day: contacts, people who asked for a person, and that share in per cent."""
    contacts: Counter[dt.date] = Counter()
    for row in await _counts(sessions, span, metric=CONTACT):
        contacts[row.day] += row.count
    asked = Counter(_day(t.created_at) for t in await _tickets(sessions, span))
    days = span.days
    shares: list[int | None] = []
    for day in days:
        shown_contacts, shown_asked = suppressed(contacts[day]), suppressed(asked[day])
        if shown_contacts is None or shown_asked is None:
            shares.append(None)
        else:
            shares.append(min(100, round(100 * shown_asked / shown_contacts)))
    return Figures(
        tuple(day.isoformat() for day in days),
        (
            Series("contacts", _hide(contacts[day] for day in days)),
            Series("asked", _hide(asked[day] for day in days)),
            Series("share", tuple(shares)),
        ),
    )


def _quantiles_by_day(
    days: Sequence[dt.date], samples: dict[dt.date, list[float]]
) -> tuple[Series, ...]:
    """Median and 90th percentile in whole minutes per day; None under five samples."""
    medians: list[int | None] = []
    ninetieth: list[int | None] = []
    counts: list[int | None] = []
    for day in days:
        values = samples.get(day, [])
        if len(values) < SUPPRESS_BELOW:
            medians.append(None)
            ninetieth.append(None)
        else:
            medians.append(round(nearest_rank(values, 0.5) / 60))
            ninetieth.append(round(nearest_rank(values, 0.9) / 60))
        counts.append(suppressed(len(values)))
    return (
        Series("median", tuple(medians)),
        Series("p90", tuple(ninetieth)),
        Series("n", tuple(counts)),
    )


async def wait_to_be_claimed(sessions: SessionFactory, span: Range) -> Figures:
    samples: defaultdict[dt.date, list[float]] = defaultdict(list)
    for ticket in await _tickets(sessions, span):
        if ticket.claimed_at is not None:
            samples[_day(ticket.created_at)].append(_seconds(ticket.claimed_at, ticket.created_at))
    days = span.days
    return Figures(tuple(d.isoformat() for d in days), _quantiles_by_day(days, samples))


async def chat_length(sessions: SessionFactory, span: Range) -> Figures:
    samples: defaultdict[dt.date, list[float]] = defaultdict(list)
    for ticket in await _tickets(sessions, span):
        if ticket.claimed_at is not None and ticket.closed_at is not None:
            samples[_day(ticket.created_at)].append(_seconds(ticket.closed_at, ticket.claimed_at))
    days = span.days
    return Figures(tuple(d.isoformat() for d in days), _quantiles_by_day(days, samples))


async def left_before_claim(sessions: SessionFactory, span: Range) -> Figures:
    """Per day: people who left the line themselves, and whose wait ran out, before a claim."""
    left: Counter[dt.date] = Counter()
    expired: Counter[dt.date] = Counter()
    for ticket in await _tickets(sessions, span):
        if ticket.claimed_at is None and ticket.status == TicketStatus.CLOSED:
            codes = set(ticket.outcomes.split(","))
            day = _day(ticket.created_at)
            if "expired" in codes:
                expired[day] += 1
            elif "left" in codes:
                left[day] += 1
    days = span.days
    return Figures(
        tuple(d.isoformat() for d in days),
        (
            Series("left", _hide(left[d] for d in days)),
            Series("expired", _hide(expired[d] for d in days)),
        ),
    )


async def outcomes(sessions: SessionFactory, span: Range) -> Figures:
    """Outcome codes over the range: closed tickets still held, and the counts of purged ones."""
    totals: Counter[str] = Counter()
    for row in await _counts(sessions, span, prefix="outcome:"):
        totals[row.metric.removeprefix("outcome:")] += row.count
    async with sessions() as session:
        closed = await session.exec(
            select(Ticket.outcomes)
            .where(Ticket.status == TicketStatus.CLOSED)
            .where(col(Ticket.closed_at) >= span.start)
            .where(col(Ticket.closed_at) < span.end)
        )
        for codes in closed.all():
            totals.update(code for code in codes.split(",") if code in OUTCOME_CODES)
    keys = tuple(code for code in OUTCOME_CODES if totals[code])
    return Figures(keys, (Series("closed", _hide(totals[code] for code in keys)),))


async def unstaffed_hours(sessions: SessionFactory, span: Range) -> Figures:
    """Minutes with people waiting and nobody online, by weekday (rows) and hour (series)."""
    grid: Counter[tuple[int, int]] = Counter()
    for row in await _counts(sessions, span, prefix=UNSTAFFED):
        hour = row.metric.removeprefix(UNSTAFFED)
        if hour.isdecimal() and 0 <= int(hour) < 24:
            grid[(row.day.weekday(), int(hour))] += row.count
    hours = tuple(
        Series(f"{hour:02d}", _hide(grid[(weekday, hour)] // 2 for weekday in range(7)))
        for hour in range(24)
    )
    return Figures(tuple(str(weekday) for weekday in range(7)), hours)
