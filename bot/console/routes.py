"""The advocate console at /console: login, the live page, accounts, static files, WebSocket."""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlmodel import select

from bot.accounts import (
    MAX_CHATS_LIMIT,
    TOTP_PURPOSE,
    AccountError,
    add_advocate,
    enrolment_qr,
    enrolment_uri,
    list_advocates,
    new_password,
    reset_password,
    reset_totp,
    set_active,
    unlock,
    update_advocate,
)
from bot.console import auth
from bot.console.audit import record
from bot.console.live import ADVOCATE_OUTCOMES, ConsoleSocket
from bot.console.security import (
    LOGIN_CSRF_COOKIE,
    SecureRoute,
    allowed_origins,
    session_cookie,
)
from bot.console.static_files import add_static_route
from bot.console.throttle import REFUSAL_SECONDS, AddressFailures, SignInThrottle
from bot.console.words import choices as console_language_choices
from bot.console.words import inbox_phrases, inbox_plurals
from bot.console.words import words as console_words
from bot.crypto import derive_key
from bot.helpline import Helpline, claims_namespace
from bot.i18n import language_codes
from bot.models import Advocate
from bot.states import Role

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = {"console.js": "text/javascript", "console.css": "text/css"}
OUTCOME_LABELS = {
    "hotline_given": "Hotline number given",
    "referral_shelter": "Referred: shelter",
    "referral_legal": "Referred: legal help",
    "referral_medical": "Referred: medical care",
    "referral_labour": "Referred: labour rights",
    "safety_planning": "Safety planning",
    "no_response": "No response",
    "misuse": "Misuse",
}
DEMO_ACCOUNT = "demo"

_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    auto_reload=False,  # templates ship with the code: no stat of each file on every render
    enable_async=False,
)
# The supervisor helper: every console page speaks the advocate's language (base.html).
_templates.globals["console_words"] = console_words
_templates.globals["console_language_choices"] = console_language_choices
_templates.globals["inbox_phrases"] = inbox_phrases
_templates.globals["inbox_plurals"] = inbox_plurals
_templates.globals["code"] = lambda text: Markup("<code>{}</code>").format(text)


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(name).render(**context), status_code=status_code)


def address_failures(helpline: Helpline) -> AddressFailures | None:
    """Shared by every worker when Redis is configured (``bot/console/shared_failures.py``)."""
    redis = helpline.claims.redis
    if redis is None:
        return None
    from bot.console.shared_failures import RedisFailures

    secret = helpline.settings.secret_key.get_secret_value()
    namespace = claims_namespace(helpline.settings)
    return RedisFailures(redis, namespace=namespace, key=derive_key(secret, "sign-in-address"))


def _address(request: Request) -> str:
    """The client's address as the sign-in limits count it."""
    return request.client.host if request.client else ""


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def router(helpline: Helpline) -> APIRouter:
    settings = helpline.settings
    cookie = session_cookie(settings)
    throttle = SignInThrottle(failures=address_failures(helpline))
    api = APIRouter(prefix="/console", include_in_schema=False, route_class=SecureRoute)

    async def current(request: Request, *, touch: bool = False) -> auth.Staff | None:
        return await auth.staff_for(helpline, request.cookies.get(cookie), touch=touch)

    async def checked(request: Request) -> tuple[auth.Staff, Any] | Response:
        """The session's staff and form, or the answer to give (``auth.form_refusal``)."""
        staff = await current(request, touch=True)
        form = await request.form()
        if staff is None or not auth.csrf_matches(_field(form, "csrf"), staff.csrf_token):
            return auth.form_refusal(staff)
        return staff, form

    def _origin_problem(request: Request) -> dict[str, str] | None:
        """Say in the page when its own address is not one the live connection accepts."""
        host = request.headers.get("host")
        here = f"{request.url.scheme}://{host}".lower() if host else ""
        allowed = allowed_origins(settings, host)
        if not here or here in allowed:
            return None
        log.warning("console opened from an origin the websocket refuses")
        return {"here": here, "allowed": ", ".join(sorted(allowed))}

    async def demo_code() -> str | None:
        if settings.mode != "demo":
            return None
        async with helpline.sessions() as session:
            demo = (
                await session.exec(select(Advocate).where(Advocate.name == DEMO_ACCOUNT))
            ).first()
        return auth.current_code(helpline, demo) if demo is not None else None

    async def login_page(error: str | None = None, status_code: int = 200) -> Response:
        token = secrets.token_urlsafe(32)
        response = render(
            "login.html",
            status_code,
            csrf=token,
            error=error,
            demo_code=await demo_code(),
            demo_account=DEMO_ACCOUNT,
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookies,
            path="/console",
        )
        return response

    @api.get("")
    async def console_page(request: Request) -> Response:
        staff = await current(request)
        if staff is None:
            return RedirectResponse("/console/login", status_code=303)
        return render(
            "console.html",
            origin_problem=_origin_problem(request),
            staff=staff,
            csrf=staff.csrf_token,
            outcomes=[(code, OUTCOME_LABELS.get(code, code)) for code in ADVOCATE_OUTCOMES],
            idle_minutes=settings.console_idle_logout_minutes,
        )

    @api.get("/session")
    async def session_alive(request: Request) -> Response:
        """Let the page tell a dropped connection from an ended session."""
        return Response(status_code=204 if await current(request) else 401)

    @api.get("/login")
    async def login_form(request: Request) -> Response:
        if await throttle.refuses(_address(request)):
            # The form could only be refused: the same small page after the same wait, so
            # a flooder that fetches a fresh form for every attempt waits for that too.
            return await refusal()
        expired = request.query_params.get("expired") == "1"
        return await login_page(
            "You were logged out after a period of inactivity." if expired else None
        )

    async def refusal() -> Response:
        await asyncio.sleep(REFUSAL_SECONDS)
        return render("refused.html", 429)

    @api.post("/login")
    async def login(request: Request) -> Response:
        if await auth.turned_away(helpline, _address(request), throttle):
            return await refusal()  # before the form is read: it would be refused anyway
        form = await request.form()
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not auth.csrf_matches(_field(form, "csrf"), expected):
            # A form left open past its cookie, or posted from elsewhere: a fresh form, in
            # the advocate's language, rather than a bare "Forbidden" with no way back.
            return await login_page("The sign-in form had expired. Please sign in again.", 403)
        try:
            _, token = await auth.log_in(
                helpline,
                name=_field(form, "name")[:80],
                password=_field(form, "password")[:200],
                code=_field(form, "code")[:12],
                address=_address(request),
                throttle=throttle,
            )
        except auth.LoginFailed as failed:
            if failed.reason == "throttled":
                # A small page with no form: no token, no database read, no second render.
                return render("refused.html", 429)
            return await login_page(
                "Login failed: wrong name, password or code, or the account is locked for a while.",
                401,
            )
        response = RedirectResponse("/console", status_code=303)
        response.set_cookie(
            cookie,
            token,
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookies,
            path="/",
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
        return response

    @api.post("/logout")
    async def logout(request: Request) -> Response:
        found = await checked(request)
        if isinstance(found, Response):
            return found
        staff, _ = found
        await auth.revoke(helpline, staff.token_hash)
        await record(helpline, action="logout", advocate_id=staff.id)
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(cookie, path="/")
        return response

    @api.get("/admin")
    async def admin_page(request: Request) -> Response:
        staff = await current(request, touch=True)
        if staff is None:
            return RedirectResponse("/console/login", status_code=303)
        if staff.role != Role.ADMIN:
            return Response("Forbidden", status_code=403)
        return await _admin_view(staff)

    async def _admin_view(
        staff: auth.Staff, created: dict[str, str] | None = None, error: str | None = None
    ) -> Response:
        return render(
            "admin.html",
            status_code=400 if error else 200,
            staff=staff,
            csrf=staff.csrf_token,
            advocates=await list_advocates(helpline.sessions),
            roles=[role.value for role in Role],
            languages=language_codes(),
            created=created,
            error=error,
            now=helpline.clock(),
            max_chats_limit=MAX_CHATS_LIMIT,
        )

    @api.post("/admin/advocates")
    async def admin_add(request: Request) -> Response:
        found = await checked(request)
        if isinstance(found, Response):
            return found
        staff, form = found
        if staff.role != Role.ADMIN:
            return Response("Forbidden", status_code=403)
        name = _field(form, "name").strip()
        languages = tuple(code for code in form.getlist("languages") if isinstance(code, str))
        password = new_password() + new_password()[:4]
        try:
            advocate, secret = await add_advocate(
                helpline.sessions,
                helpline.sealer(TOTP_PURPOSE),
                name=name,
                password=password,
                role=Role(_field(form, "role") or Role.ADVOCATE.value),
                languages=languages or ("en",),
            )
        except (AccountError, ValueError) as error:
            return await _admin_view(staff, error=str(error))
        await record(
            helpline,
            action="account_created",
            advocate_id=staff.id,
            detail=f"advocate:{advocate.id}",
        )
        uri = enrolment_uri(name, secret)
        created = {
            "title": f"Account “{name}” created",
            "password": password,
            "uri": uri,
            "qr": enrolment_qr(uri),
        }
        return await _admin_view(staff, created=created)

    @api.post("/admin/advocates/{advocate_id}/{change}")
    async def admin_change(request: Request, advocate_id: int, change: str) -> Response:
        found = await checked(request)
        if isinstance(found, Response):
            return found
        staff, form = found
        if staff.role != Role.ADMIN:
            return Response("Forbidden", status_code=403)
        shown: dict[str, str] | None = None
        try:
            if change in ("deactivate", "activate"):
                if advocate_id == staff.id:
                    raise AccountError("you cannot deactivate your own account")
                await set_active(helpline.sessions, advocate_id, active=change == "activate")
                if change == "deactivate":
                    await auth.revoke_all(helpline, advocate_id)
                    # Their people must not write into nothing: back to the front of the line.
                    await helpline.queue.return_orphans(helpline.clock(), advocate_id=advocate_id)
            elif change == "unlock":
                await unlock(helpline.sessions, advocate_id)
            elif change == "reset-password":
                name, password = await reset_password(helpline.sessions, advocate_id)
                await auth.revoke_all(helpline, advocate_id)
                shown = {"title": f"New password for “{name}”", "password": password}
            elif change == "reset-code":
                name, secret = await reset_totp(
                    helpline.sessions, helpline.sealer(TOTP_PURPOSE), advocate_id
                )
                await auth.revoke_all(helpline, advocate_id)
                uri = enrolment_uri(name, secret)
                shown = {"title": f"New authenticator code for “{name}”", "uri": uri}
                shown["qr"] = enrolment_qr(uri)
            elif change == "edit":
                await _edit(form, advocate_id, staff)
            else:
                return Response("Not found", status_code=404)
        except (AccountError, ValueError) as error:
            return await _admin_view(staff, error=str(error))
        # Who did what to which account, and when: never the new secret.
        await record(
            helpline,
            action=f"account_{change.replace('-', '_')}",
            advocate_id=staff.id,
            detail=f"advocate:{advocate_id}",
        )
        if shown is not None:
            return await _admin_view(staff, created=shown)
        return RedirectResponse("/console/admin", status_code=303)

    async def _edit(form: Any, advocate_id: int, staff: auth.Staff) -> None:
        role = Role(_field(form, "role"))
        if advocate_id == staff.id and role != Role.ADMIN:
            raise AccountError("you cannot take away your own admin role")
        languages = tuple(code for code in form.getlist("languages") if isinstance(code, str))
        await update_advocate(
            helpline.sessions,
            advocate_id,
            role=role,
            languages=languages,
            max_chats=int(_field(form, "max_chats") or "0"),
        )

    add_static_route(api, STATIC)

    @api.websocket("/ws")
    async def live(socket: WebSocket) -> None:
        admitted = await auth.admit_socket(helpline, socket, cookie, page="console")
        if admitted is None:
            return
        staff, token = admitted
        await socket.accept()
        await ConsoleSocket(helpline, socket, staff, token).run()

    return api
