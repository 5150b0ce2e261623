"""Which language each console page speaks, in which time zone, and the advocate's choice.

``ConsoleLanguage`` (ASGI middleware) decides per request, in order: a ``lang`` the
sign-in page's picker asked for, the signed-in advocate's choice (or their first
language the console speaks), the language cookie, the browser's Accept-Language,
English. A stored choice the console has no catalogue for gives English and a note on
every page saying so; so does an advocate's first language when the console lacks it.
The time zone is the advocate's (``console_timezone``) or ``HELPLINE_CONSOLE_TIMEZONE``.
Both are stored on the advocate so they follow them to any computer.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import select
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.console import auth
from bot.console.security import SecureRoute, session_cookie
from bot.console.words import (
    LANGUAGE_COOKIE,
    choices,
    console_languages,
    from_accept_language,
    requested_language,
    requested_zone,
    wanted_language,
    words,
)
from bot.crypto import token_hash
from bot.db import transaction
from bot.helpline import Helpline
from bot.i18n import DEFAULT_LANGUAGE
from bot.models import Advocate, ConsoleSession
from bot.settings import known_time_zone, time_zones

_UNTRANSLATED = ("/console/static/", "/console/supervisor/static/", "/console/ws")
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    auto_reload=False,  # templates ship with the code: no stat of each file on every render
)
_templates.globals["console_words"] = words
_templates.globals["console_language_choices"] = choices


@dataclass(frozen=True, slots=True)
class Preferences:
    """What a signed-in advocate's console speaks and in which time zone."""

    language: str | None
    """A console language, or None to go on down the chain (cookie, browser, English)."""
    wanted: str
    """Their own language when the console has no catalogue for it, else ""."""
    zone: str
    """Their IANA time zone, "" for the line's default."""


def preferences(chosen: str, spoken: str, zone: str) -> Preferences:
    """From the advocate's stored choice, the languages they read and their time zone."""
    zone = zone if known_time_zone(zone) else ""
    if chosen:
        if chosen in console_languages():
            return Preferences(chosen, "", zone)
        return Preferences(DEFAULT_LANGUAGE, chosen, zone)
    codes = [code for code in spoken.split(",") if code]
    first = next((code for code in codes if code in console_languages()), None)
    wanted = codes[0] if codes and codes[0] not in console_languages() else ""
    return Preferences(first, wanted, zone)


async def advocate_preferences(helpline: Helpline, token: str | None) -> Preferences | None:
    """The console preferences of the advocate holding this session token, if any."""
    if not token:
        return None
    async with helpline.sessions() as session:
        row = (
            await session.exec(
                select(Advocate.console_language, Advocate.languages, Advocate.console_timezone)
                .join(ConsoleSession, ConsoleSession.advocate_id == Advocate.id)  # type: ignore[arg-type]
                .where(ConsoleSession.token_hash == token_hash(token))
            )
        ).first()
    if row is None:
        return None
    chosen, spoken, zone = row
    return preferences(chosen, spoken, zone)


async def advocate_language(helpline: Helpline, token: str | None) -> str | None:
    """The console language of the advocate holding this session token, if any."""
    found = await advocate_preferences(helpline, token)
    return found.language if found is not None else None


class ConsoleLanguage:
    """Sets ``requested_language`` for every console request."""

    def __init__(self, app: ASGIApp, helpline: Helpline) -> None:
        self.app = app
        self.helpline = helpline
        self.cookie = session_cookie(helpline.settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if (
            scope["type"] != "http"
            or not path.startswith("/console")
            or path.startswith(_UNTRANSLATED)
        ):
            await self.app(scope, receive, send)
            return
        language, wanted, zone = await self._choose(scope)
        resets = (
            requested_language.set(language),
            wanted_language.set(wanted),
            requested_zone.set(zone or self.helpline.settings.console_timezone),
        )
        try:
            await self.app(scope, receive, send)
        finally:
            requested_language.reset(resets[0])
            wanted_language.reset(resets[1])
            requested_zone.reset(resets[2])

    async def _choose(self, scope: Scope) -> tuple[str | None, str, str]:
        """(language, the advocate's own language the console lacks, time zone)."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is no reason to fail the page
            cookies = SimpleCookie()
        token = str(cookies[self.cookie].value) if self.cookie in cookies else None
        own = await advocate_preferences(self.helpline, token)
        wanted, zone = (own.wanted, own.zone) if own is not None else ("", "")
        asked = str(parse_qs(query).get("lang", [""])[0])
        if asked in console_languages():
            return asked, wanted, zone
        if own is not None and own.language is not None:
            return own.language, wanted, zone
        return self._unsigned(headers, cookies), wanted, zone

    @staticmethod
    def _unsigned(headers: dict[str, str], cookies: SimpleCookie) -> str | None:
        remembered = str(cookies[LANGUAGE_COOKIE].value) if LANGUAGE_COOKIE in cookies else ""
        if remembered in console_languages():
            return remembered
        return from_accept_language(headers.get("accept-language", ""))


def router(helpline: Helpline) -> APIRouter:
    settings = helpline.settings
    cookie = session_cookie(settings)
    api = APIRouter(prefix="/console", include_in_schema=False, route_class=SecureRoute)

    @api.get("/preferences")
    async def preferences_page(request: Request) -> Response:
        """The console language and the time zone, on one page (linked from every top bar)."""
        staff = await auth.staff_for(helpline, request.cookies.get(cookie), touch=True)
        if staff is None:
            return RedirectResponse("/console/login", status_code=303)
        body = _templates.get_template("preferences.html").render(
            w=words(), staff=staff, csrf=staff.csrf_token, zones=sorted(time_zones())
        )
        return HTMLResponse(body)

    @api.post("/language")
    async def choose_language(request: Request) -> Response:
        """Store the console language (and time zone) an advocate chose; back to their page."""
        staff = await auth.staff_for(helpline, request.cookies.get(cookie), touch=True)
        form = await request.form()
        given = form.get("csrf")
        if (
            staff is None
            or not isinstance(given, str)
            or not auth.csrf_matches(given, staff.csrf_token)
        ):
            return auth.form_refusal(staff)
        language = form.get("language")
        if not isinstance(language, str) or language not in console_languages():
            return Response(words().t("error.unknown_language"), status_code=400)
        zone = form.get("timezone")
        if zone is not None and (not isinstance(zone, str) or not known_time_zone(zone)):
            return Response(words().t("error.unknown_zone"), status_code=400)
        async with transaction(helpline.sessions) as session:
            advocate = await session.get(Advocate, staff.id)
            if advocate is not None:
                advocate.console_language = language
                if zone is not None:
                    advocate.console_timezone = zone
                session.add(advocate)
        back = form.get("next")
        target = back if isinstance(back, str) and _local(back) else "/console"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookies,
            path="/console",
            max_age=365 * 24 * 3600,
        )
        return response

    return api


def _local(path: str) -> bool:
    """Only a console page of this site: never another host (``//evil``) or a scheme."""
    return path.startswith("/console") and not path.startswith("//") and "\\" not in path
