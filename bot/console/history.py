"""The history page's charts: each one's SVG, the table beside it and its CSV, alike.

Figures come from bot/console/stats.py (aggregates only, small counts already None);
this module labels them in the advocate's language and lays them out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup

from bot.console import charts, stats
from bot.console.stats import Figures, Range
from bot.console.words import Words
from bot.counts import SUPPRESS_BELOW
from bot.db import SessionFactory

HIDDEN = f"<{SUPPRESS_BELOW}"
TOP_SERIES = 5
"""Per-day charts by language or country show the five largest and the rest as "other"."""

Cell = int | str | None


@dataclass(frozen=True, slots=True)
class ChartView:
    """One chart with the table beside it; the CSV holds exactly the table's cells."""

    id: str
    title: str
    note: str
    svg: Markup
    header: list[str]
    rows: list[list[Cell]]


def _cell(value: Cell) -> str:
    return HIDDEN if value is None else str(value)


def shown(w: Words, value: Cell) -> Markup:
    """A table cell: numbers in the page's language; "<5" kept left to right in Arabic too."""
    if value is None:
        return Markup('<span class="ltr">&lt;{}</span>').format(SUPPRESS_BELOW)
    return Markup("{}").format(w.number(value) if isinstance(value, int) else value)


def _table(figures: Figures, first: list[Cell]) -> list[list[Cell]]:
    return [
        [first[i], *(s.values[i] for s in figures.series)] for i in range(len(figures.categories))
    ]


async def history(sessions: SessionFactory, span: Range, w: Words) -> list[ChartView]:
    """Every chart of the history page for ``span``, labelled in ``w``'s language."""
    days = [w.day(day) for day in span.days]
    iso_days: list[Cell] = [day.isoformat() for day in span.days]
    views: list[ChartView] = []
    rtl = w.dir == "rtl"

    def day_label(iso: str) -> str:
        return days[iso_days.index(iso)] if iso in iso_days else iso

    by_channel = await stats.contacts_by_day(sessions, span, "channel")
    views.append(
        ChartView(
            "contacts-channel",
            w.t("chart.contacts_channel"),
            w.t("chart.contacts_note"),
            charts.columns(
                "contacts-channel",
                w.t("chart.contacts_channel"),
                by_channel,
                category_label=day_label,
                rtl=rtl,
                series_label=w.channel_name,
            ),
            [w.t("column.day"), *(w.channel_name(s.key) for s in by_channel.series)],
            _table(by_channel, iso_days),
        )
    )
    for by, label, name in (
        ("language", w.language_name, "contacts_language"),
        ("country", w.country_name, "contacts_country"),
    ):
        per_day = await stats.contacts_by_day(sessions, span, by, top=TOP_SERIES)

        def named(key: str, label: Callable[[str], str] = label) -> str:
            return w.t("column.other") if key == stats.OTHER else label(key)

        views.append(
            ChartView(
                f"contacts-day-{by}",
                w.t(f"chart.{name}_day"),
                w.t("chart.contacts_note"),
                charts.columns(
                    f"contacts-day-{by}",
                    w.t(f"chart.{name}_day"),
                    per_day,
                    category_label=day_label,
                    rtl=rtl,
                    series_label=named,
                ),
                [w.t("column.day"), *(named(s.key) for s in per_day.series)],
                _table(per_day, iso_days),
            )
        )
        totals = await stats.contacts_total(sessions, span, by)
        views.append(
            ChartView(
                f"contacts-{by}",
                w.t(f"chart.{name}"),
                w.t("chart.contacts_note"),
                charts.bars(
                    f"contacts-{by}",
                    w.t(f"chart.{name}"),
                    totals,
                    category_label=label,
                    rtl=rtl,
                ),
                [w.t(f"column.{by}"), w.t("column.contacts")],
                _table(totals, [label(k) for k in totals.categories]),
            )
        )
    asked = await stats.asked_for_a_person(sessions, span)
    share = Figures(asked.categories, asked.series[2:])
    views.append(
        ChartView(
            "asked",
            w.t("chart.asked"),
            w.t("chart.asked_note"),
            charts.columns(
                "asked",
                w.t("chart.asked"),
                share,
                category_label=day_label,
                rtl=rtl,
                series_label=lambda _: w.t("column.share"),
            ),
            [w.t("column.day"), w.t("column.contacts"), w.t("column.asked"), w.t("column.share")],
            _table(asked, iso_days),
        )
    )
    for chart_id, compute, name in (
        ("wait", stats.wait_to_be_claimed, "wait"),
        ("length", stats.chat_length, "length"),
    ):
        figures = await compute(sessions, span)
        quantiles = Figures(figures.categories, figures.series[:2])
        views.append(
            ChartView(
                chart_id,
                w.t(f"chart.{name}"),
                w.t("chart.minutes_note"),
                charts.columns(
                    chart_id,
                    w.t(f"chart.{name}"),
                    quantiles,
                    category_label=day_label,
                    rtl=rtl,
                    series_label=lambda key: w.t(f"column.{key}"),
                ),
                [w.t("column.day"), w.t("column.median"), w.t("column.p90"), w.t("column.n")],
                _table(figures, iso_days),
            )
        )
    left = await stats.left_before_claim(sessions, span)
    views.append(
        ChartView(
            "left",
            w.t("chart.left"),
            w.t("chart.tickets_note"),
            charts.columns(
                "left",
                w.t("chart.left"),
                left,
                category_label=day_label,
                rtl=rtl,
                series_label=lambda key: w.t(f"column.{key}"),
            ),
            [w.t("column.day"), w.t("column.left"), w.t("column.expired")],
            _table(left, iso_days),
        )
    )
    outcomes = await stats.outcomes(sessions, span)

    def outcome(code: str) -> str:
        return w.t(f"outcome.{code}")

    views.append(
        ChartView(
            "outcomes",
            w.t("chart.outcomes"),
            w.t("chart.outcomes_note"),
            charts.bars(
                "outcomes", w.t("chart.outcomes"), outcomes, category_label=outcome, rtl=rtl
            ),
            [w.t("column.outcome"), w.t("column.chats")],
            _table(outcomes, [outcome(code) for code in outcomes.categories]),
        )
    )
    unstaffed = await stats.unstaffed_hours(sessions, span)
    weekday_names: list[Cell] = [w.weekday(int(d)) for d in unstaffed.categories]
    views.append(
        ChartView(
            "unstaffed",
            w.t("chart.unstaffed"),
            w.t("chart.unstaffed_note"),
            charts.grid(
                "unstaffed",
                w.t("chart.unstaffed"),
                unstaffed,
                row_label=lambda d: w.weekday(int(d)),
                rtl=rtl,
            ),
            [w.t("column.weekday"), *(s.key for s in unstaffed.series)],
            _table(unstaffed, weekday_names),
        )
    )
    return views


def csv_text(view: ChartView) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(view.header)
    for row in view.rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()
