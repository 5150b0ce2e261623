"""When PostgreSQL, SQLite or Redis is unreachable: answer 503 so the carrier tries again.

Twilio and Telegram redeliver a webhook that failed. A message that arrives while a
backing service is down is therefore answered ``503 Service Unavailable`` with
``Retry-After``; its database transaction rolled back (the de-duplication id with it),
so the redelivery is handled as if it were the first. Nothing already queued lives
anywhere but the database, so nothing queued is lost, and the engine's connection
pool and the relay reader reconnect by themselves when the service returns.

Logs name the exception type only: database errors quote SQL parameters.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import cast

from fastapi import FastAPI
from sqlalchemy import exc as sa_errors
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.status import WS_1013_TRY_AGAIN_LATER
from starlette.websockets import WebSocket

from bot import metrics

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 10
WEBHOOK_PREFIX = "/webhooks/"

DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sa_errors.DBAPIError,  # OperationalError and InterfaceError are DBAPIErrors
    sa_errors.TimeoutError,  # the connection pool waited in vain
)
NETWORK_ERRORS: tuple[type[Exception], ...] = (OSError,)  # ConnectionError, TimeoutError too


def redis_errors() -> tuple[type[Exception], ...]:
    """Redis's "out of reach" errors, once redis-py is loaded (only with Redis configured).

    A worker without Redis never imports redis-py (~6 MB), and then cannot meet its errors.
    """
    module = sys.modules.get("redis.exceptions")
    if module is None:
        return ()
    return (module.ConnectionError, module.TimeoutError)


def service_errors() -> tuple[type[Exception], ...]:
    """A backing service is out of reach: the request can succeed later, so answer 503."""
    return (*DATABASE_ERRORS, *redis_errors(), *NETWORK_ERRORS)


def install(app: FastAPI) -> None:
    """Answer 503 instead of 500 when a backing service is out of reach."""
    # Starlette calls one handler for HTTP and WebSocket alike; its annotation
    # names one or the other, so the honest signature needs a cast.
    handler = cast("Callable[[Request, Exception], Awaitable[Response]]", unavailable)
    # The app factory builds the help line (and its Redis clients, if any) first.
    for error in service_errors():
        app.add_exception_handler(error, handler)


def service_of(error: Exception) -> str:
    """Which backing service failed; a bare socket error is placed by where it was raised."""
    if isinstance(error, DATABASE_ERRORS):
        return "database"
    if isinstance(error, redis_errors()):
        return "redis"
    # asyncpg refuses a connection with a plain OSError that SQLAlchemy passes through.
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        if "/asyncpg/" in frame.filename or "/sqlalchemy/" in frame.filename:
            return "database"
        if "/redis/" in frame.filename:
            return "redis"
    return "network"


async def unavailable(connection: HTTPConnection, error: Exception) -> Response | None:
    """Tell the caller to come back later; webhooks get ``Retry-After`` for redelivery."""
    if isinstance(connection, WebSocket):
        _note(connection.url.path, error)
        # 1013 "try again later": the console reconnects, possibly to another worker.
        with contextlib.suppress(RuntimeError, OSError):  # the peer may be gone already
            await connection.close(code=WS_1013_TRY_AGAIN_LATER)
        return None
    return unavailable_response(connection.url.path, error)


def unavailable_response(path: str, error: Exception) -> Response:
    """Count and log the outage; the 503 that tells the caller when to try again.

    Used by the exception handlers above and by ``bot.webhook_lane``, which answers
    webhooks outside FastAPI's exception handling."""
    service = _note(path, error)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    return JSONResponse(
        {"error": "temporarily unavailable", "service": service},
        status_code=503,
        headers=headers,
    )


def _note(path: str, error: Exception) -> str:
    service = service_of(error)
    metrics.service_unavailable(service)
    log.warning(
        "service unavailable service=%s error=%s webhook=%s",
        service,
        type(error).__name__,
        path.startswith(WEBHOOK_PREFIX),
    )
    return service
