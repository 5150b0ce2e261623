"""Response headers, cookies and Origin checks shared by every console route."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.routing import APIRoute

from bot.settings import Settings

LOGIN_CSRF_COOKIE = "helpline_login_csrf"

_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def session_cookie(settings: Settings) -> str:
    # The __Host- prefix makes the browser refuse the cookie unless it is Secure, host-only
    # and for path /: a sibling subdomain cannot plant or shadow it.
    return "__Host-helpline_console" if settings.secure_cookies else "helpline_console"


def content_security_policy(request: Request) -> str:
    host = request.headers.get("host", "")
    socket = ("wss://" if request.url.scheme == "https" else "ws://") + host
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {socket}; media-src 'self' blob: data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class SecureRoute(APIRoute):
    """Adds the console's security headers to every response it serves."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def secured(request: Request) -> Response:
            response = await handler(request)
            response.headers.update(_HEADERS)
            response.headers["Content-Security-Policy"] = content_security_policy(request)
            return response

        return secured


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(settings: Settings, host: str | None) -> set[str]:
    """The public URL's origin; in demo and test also this request's own host."""
    allowed = {origin_of(settings.public_url)}
    if settings.is_demo and host:
        allowed |= {f"http://{host}".lower(), f"https://{host}".lower()}
    return allowed
