"""Limits on what a request may cost before the app looks at it.

A forged 20 MB post must be refused before its signature is checked or its form is
parsed, and a body that trickles in one byte at a time must not hold a worker open.
A declared ``Content-Length`` over the route's limit is refused at once (413), the
bytes of bodies sent without one are counted, the whole body has a deadline (408), and
a client that hangs up mid-upload is an ordinary event, not a crash. ``BodyLimits``
applies these rules to the console's requests as they stream; the webhook lane
(``bot.webhook_lane``) applies the same rules with ``head_refusal`` and ``read_body``,
since it reads every webhook whole. Header size and idle keep-alive connections are
limited by the HTTP protocol (``bot.http_protocol``, ``bot.server_options``).
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import metrics

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
"""Telegram's largest update is well under this; nothing else the help line takes is near it."""
MAX_TWILIO_BODY_BYTES = 64_000
"""A Twilio webhook: one message of at most 1,600 characters and some dozens of fields."""
MAX_HEAD_BYTES = 16 * 1024
"""Request line and headers. uvicorn (h11) refuses a larger head that arrives in pieces;
this middleware refuses one that arrived whole, before any route sees it."""
BODY_SECONDS = 10.0
"""The longest a whole request body may take to arrive."""
WEBHOOK_SECONDS = 12.0
"""A webhook's answer must reach the carrier inside Twilio's 15 seconds: past this, 503."""


class BodyRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def limit_for(path: str) -> int:
    return MAX_TWILIO_BODY_BYTES if path.startswith("/webhooks/twilio/") else MAX_BODY_BYTES


class BodyLimits:
    """ASGI middleware: size and time limits on request bodies, checked before reading."""

    def __init__(self, app: ASGIApp, *, body_seconds: float = BODY_SECONDS) -> None:
        self.app = app
        self.body_seconds = body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        refusal = head_refusal(scope, limit)
        if refusal is not None:
            await refuse(send, *refusal)
            return
        started = False
        received = 0
        deadline = time.monotonic() + self.body_seconds

        async def limited_receive() -> Message:
            nonlocal received, deadline
            left = None if deadline == float("inf") else max(deadline - time.monotonic(), 0.001)
            try:
                async with asyncio.timeout(left):
                    message = await receive()
            except TimeoutError:
                raise BodyRefused(408, "slow_body") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyRefused(413, "too_large")
                if not message.get("more_body", False):
                    # The body is complete: later receives wait for a disconnect only.
                    deadline = float("inf")
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyRefused as refused:
            if not started:
                await refuse(send, refused.status, refused.reason)
        except ClientDisconnect:
            hung_up()


def head_refusal(scope: Scope, limit: int) -> tuple[int, str] | None:
    """Status and reason to refuse a request on its head alone (None: read its body)."""
    head = sum(len(name) + len(value) for name, value in scope.get("headers", ()))
    head += len(scope.get("raw_path") or b"") + len(scope.get("query_string", b""))
    if head > MAX_HEAD_BYTES:
        return 431, "too_large"
    declared = _content_length(scope)
    if declared == -1:
        return 400, "bad_length"
    if declared is not None and declared > limit:
        return 413, "too_large"
    return None


async def read_body(receive: Receive, limit: int, seconds: float) -> bytes:
    """The whole body, at most ``limit`` bytes within ``seconds``.

    Raises ``BodyRefused`` (413 too large, 408 too slow) or ``ClientDisconnect``."""
    chunks: list[bytes] = []
    received = 0
    try:
        async with asyncio.timeout(seconds):
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    raise ClientDisconnect()
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    raise BodyRefused(413, "too_large")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        raise BodyRefused(408, "slow_body") from None


def hung_up() -> None:
    """The caller hung up mid-upload: nobody is left to answer."""
    metrics.request_refused("hung_up")
    log.info("client hung up before its request body arrived")


def _content_length(scope: Scope) -> int | None:
    """The declared body length; None when absent, -1 when it is not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            if not text.isdigit() or len(text) > 18:
                return -1
            return int(text)
    return None


async def refuse(send: Send, status: int, reason: str) -> None:
    metrics.request_refused(reason)
    log.info("request refused status=%d reason=%s", status, reason)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})
