"""The supervisor's pages: the live board, the line's history as charts, CSV downloads.

Every route and every WebSocket frame checks that the session belongs to a supervisor
or an administrator. The history holds aggregate figures only (bot/console/stats.py),
with counts under five hidden in the chart, the table beside it and the CSV alike.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from bot.console import auth, charts, stats
from bot.console.board import SupervisorSocket
from bot.console.language import advocate_language
from bot.console.security import SecureRoute, allowed_origins, session_cookie
from bot.console.stats import Figures, Range
from bot.console.words import Words, choices, words
from bot.counts import SUPPRESS_BELOW
from bot.db import SessionFactory
from bot.helpline import Helpline
from bot.i18n import language_codes
from bot.types import Channel

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = {
    "supervisor.js": "text/javascript",
    "supervisor.css": "text/css",
    "language.css": "text/css",
}
HIDDEN = f"<{SUPPRESS_BELOW}"
TOP_SERIES = 5
"""Per-day charts by language or country show the five largest and the rest as "other"."""

_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
_templates.globals["console_words"] = words
_templates.globals["console_language_choices"] = choices
_templates.filters["date_of"] = dt.date.fromisoformat

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
    numeric_from: int = 1


def _cell(value: Cell) -> str:
    return HIDDEN if value is None else str(value)


def _shown(w: Words, value: Cell) -> Markup:
    """A table cell: numbers in the page's language; "<5" kept left to right in Arabic too."""
    if value is None:
        return Markup('<span class="ltr">&lt;{}</span>').format(SUPPRESS_BELOW)
    return Markup("{}").format(w.number(value) if isinstance(value, int) else value)


def _channel(w: Words, key: str) -> str:
    return w.t(f"channel.{key}") if w.has(f"channel.{key}") else key


def _table(figures: Figures, first: list[Cell]) -> list[list[Cell]]:
    return [
        [first[i], *(s.values[i] for s in figures.series)] for i in range(len(figures.categories))
    ]


async def _history(sessions: SessionFactory, span: Range, w: Words) -> list[ChartView]:
    """Every chart of the history page for ``span``, labelled in ``w``'s language."""
    days = [w.day(day) for day in span.days]
    iso_days: list[Cell] = [day.isoformat() for day in span.days]
    views: list[ChartView] = []

    def channel(key: str) -> str:
        return _channel(w, key)

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
                series_label=channel,
            ),
            [w.t("column.day"), *(channel(s.key) for s in by_channel.series)],
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
                charts.bars(f"contacts-{by}", w.t(f"chart.{name}"), totals, category_label=label),
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
            charts.bars("outcomes", w.t("chart.outcomes"), outcomes, category_label=outcome),
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


def router(helpline: Helpline) -> APIRouter:
    settings = helpline.settings
    cookie = session_cookie(settings)
    api = APIRouter(prefix="/console/supervisor", include_in_schema=False, route_class=SecureRoute)

    async def supervisor(request: Request) -> auth.Staff | Response:
        staff = await auth.staff_for(helpline, request.cookies.get(cookie), touch=True)
        if staff is None:
            return RedirectResponse("/console/login", status_code=303)
        if not staff.supervises:
            return Response(words().t("error.forbidden"), status_code=403)
        return staff

    def page(name: str, staff: auth.Staff, request: Request, **context: Any) -> HTMLResponse:
        w = words()
        body = _templates.get_template(name).render(
            w=w,
            staff=staff,
            csrf=staff.csrf_token,
            here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            **context,
        )
        return HTMLResponse(body)

    @api.get("")
    async def live_page(request: Request) -> Response:
        staff = await supervisor(request)
        if isinstance(staff, Response):
            return staff
        w = words()
        return page(
            "supervisor.html",
            staff,
            request,
            language_names={code: w.language_name(code) for code in language_codes()},
            channel_names={channel.value: _channel(w, channel.value) for channel in Channel},
        )

    async def history_views(request: Request) -> tuple[Range, list[ChartView]]:
        span = Range.parse(
            request.query_params.get("from"),
            request.query_params.get("to"),
            helpline.clock().date(),
        )
        return span, await _history(helpline.sessions, span, words())

    @api.get("/history")
    async def history_page(request: Request) -> Response:
        staff = await supervisor(request)
        if isinstance(staff, Response):
            return staff
        span, views = await history_views(request)
        w = words()
        return page(
            "supervisor_history.html",
            staff,
            request,
            span=span,
            views=views,
            shown=lambda value: _shown(w, value),
        )

    @api.get("/history/{chart}.csv")
    async def history_csv(request: Request, chart: str) -> Response:
        staff = await supervisor(request)
        if isinstance(staff, Response):
            return staff
        span, views = await history_views(request)
        view = next((v for v in views if v.id == chart), None)
        if view is None:
            return Response("Not found", status_code=404)
        name = f"helpline-{view.id}-{span.first.isoformat()}-{span.last.isoformat()}.csv"
        return Response(
            csv_text(view),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @api.get("/static/{name}")
    async def static(name: str) -> Response:
        media_type = STATIC.get(name)
        if media_type is None:
            return Response("Not found", status_code=404)
        body = await asyncio.to_thread((HERE / "static" / name).read_bytes)
        return Response(body, media_type=media_type)

    @api.websocket("/ws")
    async def board(socket: WebSocket) -> None:
        origin = (socket.headers.get("origin") or "").lower()
        if origin not in allowed_origins(settings, socket.headers.get("host")):
            log.warning("supervisor websocket refused: foreign origin")
            await socket.close(code=4403)
            return
        token = socket.cookies.get(cookie)
        staff = await auth.staff_for(helpline, token)
        if staff is None or token is None:
            await socket.close(code=4401)
            return
        if not staff.supervises:
            await socket.close(code=4403)
            return
        await socket.accept()
        w = words(await advocate_language(helpline, token))
        await SupervisorSocket(helpline, socket, staff, token, w).run()

    return api
