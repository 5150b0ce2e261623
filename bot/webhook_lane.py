"""The carriers' webhooks, answered without FastAPI's routing: the lane.

Twilio and Telegram post every message a person sends, and Twilio posts a delivery
report for every reply; in a campaign's burst these are nearly all of a worker's
requests. A py-spy profile of a worker under wrk (2026-11-30, SQLite, the benchmark's
SMS mix) put 13 % of the worker's time between our last middleware and the SMS
handler: Starlette's exception middleware, FastAPI's exit stack, the router's walk
over the console's routes, the request object and the dependency solver. None of it
does anything for a webhook, whose only input is a body and three headers.

So a webhook is a plain coroutine from a ``WebhookRequest`` (path, headers, the whole
body) to a ``WebhookAnswer`` (status, body, and work to run once it is sent), and
``WebhookLane``, in front of FastAPI's own middleware stack (``HelplineApi``), serves
each one itself, in one frame, under the rules every webhook had before:

- the head and body limits of ``bot.limits`` (431, 400, 413; 408 for a slow body);
- live chats first (``bot.priority``): a route that names its sender is ordered by it;
- the deadline: not answered within ``WEBHOOK_SECONDS``, 503 with ``Retry-After``, so
  the carrier delivers again before its own time-out gives up on us;
- an outage of the database or Redis: 503 with ``Retry-After`` from ``bot.faults``;
- counted and timed in ``bot.metrics`` under the route's path and the status sent.

Every other request goes on to FastAPI and its middlewares. A webhook that raises
reaches the server, which answers 500; ``bot.logs`` writes its traceback without the
exception's words. The webhooks stay in the
OpenAPI description (``HelplineApi``). Measured on one worker: serving webhooks here
rather than through FastAPI's routing, and folding into this one frame the four
middlewares that wrapped them, cut the CPU of an SMS webhook (docs/benchmarks.md,
step four).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from bot import faults, metrics
from bot.limits import (
    BODY_SECONDS,
    WEBHOOK_SECONDS,
    BodyRefused,
    head_refusal,
    hung_up,
    limit_for,
    read_body,
    refuse,
)
from bot.priority import LiveFirst
from bot.types import Address

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One posted webhook, read whole (its size is capped by ``bot.limits``)."""

    path: str
    query: str
    headers: Headers
    body: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    """What to send back; ``after`` runs once the answer has been sent."""

    status: int
    body: bytes = field(default=b"", repr=False)
    media_type: str | None = None
    after: Callable[[], None] | None = None


Webhook = Callable[[WebhookRequest], Awaitable[WebhookAnswer]]
WRONG_METHOD = WebhookAnswer(405)
"""A webhook takes POST only (with ``Allow: POST``, as FastAPI answered before the lane)."""
DEADLINE_PASSED = WebhookAnswer(503)
"""With ``Retry-After``: the carrier delivers the message again."""


@dataclass(frozen=True, slots=True)
class WebhookRoute:
    """A webhook, its path and how the OpenAPI description shows it."""

    path: str
    endpoint: Webhook
    summary: str
    sender: Callable[[bytes], Address | None] | None = None
    """Who sent it, read from the body: live chats go first (None: not ordered)."""
    openapi_extra: Mapping[str, Any] = field(default_factory=dict)
    """The operation's parameters and request body, as OpenAPI writes them."""
    responses: Mapping[int | str, Mapping[str, Any]] = field(default_factory=dict)


class WebhookLane:
    """ASGI middleware: a webhook's path is served here, every other request goes on."""

    def __init__(
        self,
        app: ASGIApp,
        routes: Sequence[WebhookRoute],
        live_first: LiveFirst | None = None,
        deadline: float = WEBHOOK_SECONDS,
        body_seconds: float = BODY_SECONDS,
    ) -> None:
        self.app = app
        self._routes = {route.path: route for route in routes}
        self._live_first = live_first
        self._deadline = deadline
        self._body_seconds = body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._routes.get(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # a webhook that raised is counted as the server error it becomes
        try:
            status = await self._serve(route, scope, receive, send)
        finally:
            if status:
                metrics.request_served(scope["method"], route.path, status, started)

    async def _serve(self, route: WebhookRoute, scope: Scope, receive: Receive, send: Send) -> int:
        """Answer one webhook; return the status sent (0: the caller hung up first)."""
        if scope["method"] != "POST":
            return await _answer(send, WRONG_METHOD)
        limit = limit_for(route.path)
        refusal = head_refusal(scope, limit)
        if refusal is not None:
            await refuse(send, *refusal)
            return refusal[0]
        deadline = asyncio.timeout(self._deadline)
        try:
            async with deadline:
                body = await read_body(receive, limit, self._body_seconds)
                request = WebhookRequest(
                    path=route.path,
                    query=scope.get("query_string", b"").decode("latin-1"),
                    headers=Headers(scope=scope),
                    body=body,
                )
                async with self._turn(route, body):
                    answer = await route.endpoint(request)
        except BodyRefused as refused:
            await refuse(send, refused.status, refused.reason)
            return refused.status
        except ClientDisconnect:
            hung_up()
            return 0
        except TimeoutError as error:
            if not deadline.expired():
                return await _unavailable(route, error, scope, receive, send)
            metrics.service_unavailable("network")
            log.warning("webhook deadline passed path=%s", route.path)
            return await _answer(send, DEADLINE_PASSED)
        except faults.service_errors() as error:
            return await _unavailable(route, error, scope, receive, send)
        status = await _answer(send, answer)
        if answer.after is not None:
            answer.after()
        return status

    def _turn(self, route: WebhookRoute, body: bytes) -> AbstractAsyncContextManager[None]:
        if route.sender is None or self._live_first is None:
            return contextlib.nullcontext()
        return self._live_first.turn(route.sender(body))


async def _answer(send: Send, answer: WebhookAnswer) -> int:
    headers = _headers(answer)
    if answer.status == 405:
        headers.append((b"allow", b"POST"))
    elif answer.status == 503:
        headers.append((b"retry-after", str(faults.RETRY_AFTER_SECONDS).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
    return answer.status


async def _unavailable(
    route: WebhookRoute, error: Exception, scope: Scope, receive: Receive, send: Send
) -> int:
    response = faults.unavailable_response(route.path, error)
    await response(scope, receive, send)
    return response.status_code


def _headers(answer: WebhookAnswer) -> list[tuple[bytes, bytes]]:
    """Content-Length as HTTP wants it (none for 204), and the media type if any."""
    headers: list[tuple[bytes, bytes]] = []
    if answer.status != 204:
        headers.append((b"content-length", str(len(answer.body)).encode()))
    if answer.media_type is not None:
        headers.append((b"content-type", answer.media_type.encode()))
    return headers


class HelplineApi(FastAPI):
    """FastAPI behind the webhook lane; its OpenAPI description also lists the webhooks.

    The lane comes before FastAPI's own middleware stack, not inside it: FastAPI wraps
    every request in its error, telemetry and body-limit middlewares (the telemetry one
    reads an environment variable per request), and ours run inside those. A webhook
    needs none of them: the lane has its own limits, and a webhook that raises still
    becomes a 500 from the server, its traceback logged through ``bot.logs``."""

    def __init__(
        self,
        *,
        webhooks: Sequence[WebhookRoute],
        live_first: LiveFirst | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.lane_routes = tuple(webhooks)
        self._lane = WebhookLane(super().__call__, self.lane_routes, live_first)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._lane(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            schema = super().openapi()
            paths = schema.setdefault("paths", {})
            for route in self.lane_routes:
                paths.setdefault(route.path, {})["post"] = _operation(route)
            self.openapi_schema = schema
        return self.openapi_schema


def _operation(route: WebhookRoute) -> dict[str, Any]:
    operation_id = route.path.strip("/").replace("/", "_") + "_post"
    return {
        "tags": ["webhooks"],
        "summary": route.summary,
        "description": inspect.getdoc(route.endpoint) or "",
        "operationId": operation_id,
        **route.openapi_extra,
        "responses": {str(status): dict(response) for status, response in route.responses.items()},
    }
