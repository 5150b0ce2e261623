"""The supervisor's pages: the live board, the line's history as charts, CSV downloads.

Every route and every WebSocket frame checks that the session belongs to a supervisor
or an administrator. The history holds aggregate figures only (bot/console/stats.py),
with counts under five hidden in the chart, the table beside it and the CSV alike.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.console import auth
from bot.console.board import SupervisorSocket
from bot.console.history import ChartView, csv_text, history, shown
from bot.console.language import advocate_language
from bot.console.security import SecureRoute, session_cookie
from bot.console.static_files import add_static_route
from bot.console.stats import Range
from bot.console.words import choices, words
from bot.helpline import Helpline

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = {
    "supervisor.js": "text/javascript",
    "supervisor.css": "text/css",
    "language.css": "text/css",
}

_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    auto_reload=False,  # templates ship with the code: no stat of each file on every render
)
_templates.globals["console_words"] = words
_templates.globals["console_language_choices"] = choices
_templates.filters["date_of"] = dt.date.fromisoformat


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
            names=w.page_names(),
            long_chat_minutes=settings.long_chat_minutes,
        )

    async def history_views(request: Request) -> tuple[Range, list[ChartView]]:
        span = Range.parse(
            request.query_params.get("from"),
            request.query_params.get("to"),
            helpline.clock().date(),
        )
        return span, await history(helpline.sessions, span, words())

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
            shown=lambda value: shown(w, value),
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

    add_static_route(api, STATIC)

    @api.websocket("/ws")
    async def board(socket: WebSocket) -> None:
        admitted = await auth.admit_socket(
            helpline, socket, cookie, page="supervisor", supervisors=True
        )
        if admitted is None:
            return
        staff, token = admitted
        await socket.accept()
        w = words(await advocate_language(helpline, token))
        await SupervisorSocket(helpline, socket, staff, token, w).run()

    return api
