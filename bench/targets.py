"""Every figure the benchmark prints, and the target it is judged against: one table.

A scenario returns plain numbers; this table says how each is shown and, for the
figures issue #16 sets targets for, what it must reach. ``text`` is a format string
over the scenario's result (``{helpline[rps]:,.0f}``); ``value`` is the dotted path of
the number judged; ``each`` repeats a row for every item of a list in the result. A
new figure needs one row here and nothing in ``bench/report.py``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "≥": operator.ge,
    "≤": operator.le,
    "<": operator.lt,
    "=": operator.eq,
}


@dataclass(frozen=True, slots=True)
class Target:
    op: str
    bound: Any
    text: str
    """How the target reads in the table, e.g. ``≥ 25% of bare``."""

    def met(self, value: Any) -> bool:
        if value is None:
            return False
        try:
            return _OPERATORS[self.op](value, self.bound)
        except TypeError:
            return False


@dataclass(frozen=True, slots=True)
class Figure:
    scenario: str
    text: str
    value: str | None = None
    target: Target | None = None
    each: str | None = None


def at_least(bound: float, text: str) -> Target:
    return Target("≥", bound, text)


def at_most(bound: float, text: str) -> Target:
    return Target("≤", bound, text)


def below(bound: float, text: str) -> Target:
    return Target("<", bound, text)


def equal(bound: Any, text: str) -> Target:
    return Target("=", bound, text)


RELAY_IDLE = at_most(20.0, "p99 ≤ 20 ms")
RELAY_LOADED = at_most(100.0, "p99 ≤ 100 ms")
_HOP = "p50 {p50_ms:.1f} p99 {p99_ms:.1f} max {max_ms:.1f} ms (n={n})"

FIGURES: tuple[Figure, ...] = (
    # --- SMS webhook under a burst, against the bare endpoint in the same run ---------
    Figure("sms", "bare {bare[rps]:,.0f} req/s, p50 {bare[p50_ms]:.1f} p99 {bare[p99_ms]:.1f} ms"),
    Figure(
        "sms",
        "help line {helpline[rps]:,.0f} req/s, p50 {helpline[p50_ms]:.1f} "
        "p99 {helpline[p99_ms]:.1f} ms",
    ),
    Figure(
        "sms",
        "throughput {throughput_ratio:.0%} of bare",
        "throughput_ratio",
        at_least(0.25, "≥ 25% of bare"),
    ),
    Figure("sms", "p99 {p99_ratio:.1f}× bare p99", "p99_ratio", at_most(6.0, "≤ 6× bare")),
    Figure(
        "sms",
        "CPU per message: workers {cpu_us[helpline][workers]:,.0f} µs, PostgreSQL "
        "{cpu_us[helpline][postgres]:,.0f}, Redis {cpu_us[helpline][redis]:,.0f} "
        "(bare: workers {cpu_us[bare][workers]:,.0f} µs)",
    ),
    Figure(
        "sms",
        "after the burst: {deletions_after[deleted]:,} record deletions in "
        "{deletions_after[seconds]:.1f} s, workers {deletions_after[cpu_us][workers]:,.0f} µs each",
    ),
    Figure(
        "sms",
        "answers: {helpline[errors]} errors, {helpline[non_2xx]} non-2xx, TwiML {sanity[signed_has_message]}",
        "valid",
        equal(True, "all 200 with TwiML"),
    ),
    # --- Telegram: capped by Telegram's own 30 messages/s, so shown, not judged ------
    Figure("telegram", "bare {bare[rps]:,.1f}/s, p99 {bare[p99_ms]:.1f} ms"),
    Figure(
        "telegram",
        "help line {helpline[rps]:,.1f}/s, p99 {helpline[p99_ms]:.1f} ms "
        "({throughput_ratio:.0%} of bare; Telegram's limit caps it)",
    ),
    # --- the relay hop alone, idle and under SMS saturation ---------------------------
    Figure(
        "relay",
        "idle person→advocate " + "{idle[to_advocate]}",
        "idle.to_advocate.p99_ms",
        RELAY_IDLE,
    ),
    Figure(
        "relay", "idle advocate→person " + "{idle[to_person]}", "idle.to_person.p99_ms", RELAY_IDLE
    ),
    Figure(
        "relay",
        "loaded person→advocate {loaded[to_advocate]}",
        "loaded.to_advocate.p99_ms",
        RELAY_LOADED,
    ),
    Figure(
        "relay",
        "loaded advocate→person {loaded[to_person]}",
        "loaded.to_person.p99_ms",
        RELAY_LOADED,
    ),
    Figure(
        "relay",
        "menu load meanwhile: {loaded[menu][rps]:,.0f} req/s, p99 {loaded[menu][p99_ms]:.0f} ms, "
        "{loaded[menu][errors]} errors, {loaded[menu][non_2xx]} non-2xx",
        "loaded.menu_answered",
        equal(True, "every menu webhook 200"),
    ),
    Figure("relay", "{burst[conversations]} at once person→advocate {burst[to_advocate]}"),
    Figure("relay", "{burst[conversations]} at once advocate→person {burst[to_person]}"),
    # --- memory -------------------------------------------------------------------------
    Figure(
        "memory",
        "worker RSS {rss_mb_max:.0f} MB after {people:,} people, {open_tickets:,} tickets",
        "rss_mb_max",
        below(150.0, "< 150 MB"),
    ),
    Figure(
        "memory",
        "{open_tickets:,} of {open_tickets_expected:,} tickets waiting",
        "complete",
        equal(True, "all opened"),
    ),
    # --- the queue listing and the claim race -------------------------------------------
    Figure(
        "queue",
        "list all {waiting:,} waiting: median {list_ms_median:.1f} ms, max {list_ms_max:.1f} ms",
    ),
    Figure(
        "queue",
        "console's first page ({page_size}) of {waiting:,} waiting: median {page_ms_median:.1f} ms",
        "page_ms_median",
        below(50.0, "< 50 ms"),
    ),
    Figure(
        "queue",
        "page at position {deep_page_position:,}: median {deep_page_ms_median:.1f} ms",
        "deep_page_ms_median",
        below(50.0, "< 50 ms"),
    ),
    Figure(
        "queue",
        "claim race ×{rounds}: winners per round {winners_per_round}",
        "winners_per_round",
        equal([1], "exactly 1"),
    ),
    # --- sign-in flood while SMS runs ---------------------------------------------------
    Figure(
        "signin",
        "SMS p99 quiet {quiet[p99_ms]:.0f} ms, under {parallel} parallel sign-ins "
        "{flooded[p99_ms]:.0f} ms = {p99_ratio:.1f}×",
        "p99_ratio",
        at_most(2.0, "≤ 2× quiet"),
    ),
    Figure(
        "signin",
        "worker RSS {rss_quiet_mb:.0f} → {rss_flooded_mb:.0f} MB (sign-ins {signin_statuses})",
        "rss_delta_mb",
        at_most(100.0, "≤ +100 MB"),
    ),
    Figure(
        "signin",
        "SMS answers: {flooded[errors]} errors, {flooded[non_2xx]} non-2xx under the flood",
        "valid",
        equal(True, "all 200"),
    ),
    # --- cost as the line grows ---------------------------------------------------------
    Figure(
        "growth",
        "{people:>7,} people {tickets:>6,} tickets: {per_message_ms:.2f} ms/message "
        "({rps:,.0f} req/s), p50 {p50_ms:.1f} p99 {p99_ms:.1f} ms, RSS {rss_mb:.0f} MB",
        each="steps",
    ),
    Figure(
        "growth",
        "per-message time {last_people:,} vs {first_people:,} people: {per_message_ratio:.2f}×",
        "per_message_ratio",
        at_most(1.5, "within 1.5×"),
    ),
    Figure(
        "growth",
        "worker RSS at {last_people:,} people, {last_tickets:,} tickets: {rss_mb_last:.0f} MB",
    ),
    Figure(
        "growth",
        "answers over all steps: {errors} errors, {non_2xx} non-2xx",
        "valid",
        equal(True, "all 200"),
    ),
)


def lookup(result: dict[str, Any], path: str) -> Any:
    """The value at a dotted path in a scenario's result, or None when it is not there."""
    found: Any = result
    for part in path.split("."):
        if not isinstance(found, dict) or part not in found:
            return None
        found = found[part]
    return found


@dataclass(frozen=True, slots=True)
class Row:
    text: str
    target: str
    verdict: str
    """``met``, ``MISSED`` or ``-`` (a figure shown without a target)."""


def rows(scenario: str, result: dict[str, Any]) -> list[Row]:
    """The table rows for one scenario's result on one backend."""
    figures = [figure for figure in FIGURES if figure.scenario == scenario]
    if not figures:
        return [Row(str(result)[:100], "", "-")]
    out: list[Row] = []
    for figure in figures:
        items = result.get(figure.each, []) if figure.each else [result]
        for item in items:
            out.append(_row(figure, item))
    return out


def _row(figure: Figure, result: dict[str, Any]) -> Row:
    value = lookup(result, figure.value) if figure.value else None
    try:
        text = figure.text.format_map(_Readable(result))
    except (TypeError, ValueError, IndexError):
        text = f"{figure.text.split('{', 1)[0].strip()} (unreadable)"
    if figure.target is None:
        return Row(text, "", "-")
    return Row(text, figure.target.text, "met" if figure.target.met(value) else "MISSED")


class _Missing:
    """A figure the scenario did not return (or could not measure): printed as ``?``."""

    def __getitem__(self, _: object) -> _Missing:
        return self

    def __format__(self, _: str) -> str:
        return "?"


_MISSING = _Missing()


class _Readable(dict[str, Any]):
    """A result for ``format_map``: nested latency summaries print as one short phrase."""

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if isinstance(value, dict):
            return _Readable(value)
        return _MISSING if value is None else value

    def __format__(self, spec: str) -> str:
        if {"p50_ms", "p99_ms", "max_ms", "n"} <= self.keys():
            return _HOP.format_map(self)
        return format(dict(self), spec)
