"""Which language each console page speaks, and the advocate's own choice of it.

``ConsoleLanguage`` (ASGI middleware) decides per request, in order: a ``lang`` the
sign-in page's picker asked for, the signed-in advocate's choice (or their first
language the console speaks), the language cookie, the browser's Accept-Language,
English. The choice is stored on the advocate (``console_language``) so it follows
them to any computer.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.console import auth
from bot.console.security import SecureRoute, session_cookie
from bot.console.words import (
    LANGUAGE_COOKIE,
    console_languages,
    from_accept_language,
    requested_language,
)
from bot.crypto import token_hash
from bot.db import transaction
from bot.helpline import Helpline
from bot.models import Advocate, ConsoleSession

_UNTRANSLATED = ("/console/static/", "/console/supervisor/static/", "/console/ws")


async def advocate_language(helpline: Helpline, token: str | None) -> str | None:
    """The console language of the advocate holding this session token, if any."""
    if not token:
        return None
    async with helpline.sessions() as session:
        row = (
            await session.exec(
                select(Advocate.console_language, Advocate.languages)
                .join(ConsoleSession, ConsoleSession.advocate_id == Advocate.id)  # type: ignore[arg-type]
                .where(ConsoleSession.token_hash == token_hash(token))
            )
        ).first()
    if row is None:
        return None
    chosen, spoken = row
    for code in (chosen, *spoken.split(",")):
        if code in console_languages():
            return str(code)
    return None


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
        reset = requested_language.set(await self._language(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            requested_language.reset(reset)

    async def _language(self, scope: Scope) -> str | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        asked = str(parse_qs(query).get("lang", [""])[0])
        if asked in console_languages():
            return asked
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is no reason to fail the page
            cookies = SimpleCookie()
        token = str(cookies[self.cookie].value) if self.cookie in cookies else None
        own = await advocate_language(self.helpline, token)
        if own is not None:
            return own
        remembered = str(cookies[LANGUAGE_COOKIE].value) if LANGUAGE_COOKIE in cookies else ""
        if remembered in console_languages():
            return remembered
        return from_accept_language(headers.get("accept-language", ""))


def router(helpline: Helpline) -> APIRouter:
    settings = helpline.settings
    cookie = session_cookie(settings)
    api = APIRouter(prefix="/console", include_in_schema=False, route_class=SecureRoute)

    @api.post("/language")
    async def choose_language(request: Request) -> Response:
        """Store the console language an advocate chose; back to the page they were on."""
        staff = await auth.staff_for(helpline, request.cookies.get(cookie), touch=True)
        form = await request.form()
        given = form.get("csrf")
        if (
            staff is None
            or not isinstance(given, str)
            or not auth.csrf_matches(given, staff.csrf_token)
        ):
            return Response("Forbidden", status_code=403)
        language = form.get("language")
        if not isinstance(language, str) or language not in console_languages():
            return Response("Unknown language", status_code=400)
        async with transaction(helpline.sessions) as session:
            advocate = await session.get(Advocate, staff.id)
            if advocate is not None:
                advocate.console_language = language
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
