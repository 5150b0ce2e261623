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
``WebhookLane``, the innermost middleware, hands each POST to its webhook directly.
Every other request goes on to FastAPI. The middlewares outside the lane (deadline,
body limits, metrics, live chats first) apply to webhooks exactly as before; an
outage of the database or Redis gets the same 503 with ``Retry-After`` from
``bot.faults``. The routes stay in the OpenAPI description (``HelplineApi``).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from bot import faults


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


@dataclass(frozen=True, slots=True)
class WebhookRoute:
    """A webhook, its path and how the OpenAPI description shows it."""

    path: str
    endpoint: Webhook
    summary: str
    openapi_extra: Mapping[str, Any] = field(default_factory=dict)
    """The operation's parameters and request body, as OpenAPI writes them."""
    responses: Mapping[int | str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def template(self) -> str:
        """What ``bot.metrics`` labels the request with (the path: webhooks have no parameters)."""
        return self.path


class WebhookLane:
    """ASGI middleware: a POST to a webhook's path goes to that webhook, all else onward."""

    def __init__(self, app: ASGIApp, *, routes: Sequence[WebhookRoute]) -> None:
        self.app = app
        self._routes = {route.path: route for route in routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._routes.get(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = route  # read by bot.metrics for its label
        if scope["method"] != "POST":
            await _answer(send, WRONG_METHOD)
            return
        request = WebhookRequest(
            path=scope["path"],
            query=scope["query_string"].decode("latin-1"),
            headers=Headers(scope=scope),
            body=await _body(receive),
        )
        try:
            answer = await route.endpoint(request)
        except faults.service_errors() as error:
            response = faults.unavailable_response(scope["path"], error)
            await response(scope, receive, send)
            return
        await _answer(send, answer)
        if answer.after is not None:
            answer.after()


async def _answer(send: Send, answer: WebhookAnswer) -> None:
    headers = _headers(answer)
    if answer.status == 405:
        headers.append((b"allow", b"POST"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


async def _body(receive: Receive) -> bytes:
    """The whole body; a caller who hangs up first is ``ClientDisconnect`` (``bot.limits``)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _headers(answer: WebhookAnswer) -> list[tuple[bytes, bytes]]:
    """Content-Length as HTTP wants it (none for 204), and the media type if any."""
    headers: list[tuple[bytes, bytes]] = []
    if answer.status != 204:
        headers.append((b"content-length", str(len(answer.body)).encode()))
    if answer.media_type is not None:
        headers.append((b"content-type", answer.media_type.encode()))
    return headers


class HelplineApi(FastAPI):
    """FastAPI whose OpenAPI description also lists the webhooks served by the lane."""

    def __init__(self, *, webhooks: Sequence[WebhookRoute], **options: Any) -> None:
        super().__init__(**options)
        self.lane_routes = tuple(webhooks)

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
