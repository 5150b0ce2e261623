"""The app factory: the one place that knows every part and wires them together."""

from __future__ import annotations

import gc
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from bot import countries, faults, language_detect, metrics
from bot.channels import openapi, simulator, sms
from bot.channels.base import ChannelAdapter
from bot.console import language as console_language
from bot.console import routes as console
from bot.console import supervisor
from bot.helpline import Helpline, build_helpline
from bot.limits import BodyLimits
from bot.priority import LiveChats, LiveFirst
from bot.settings import Settings
from bot.tasks import Housekeeping
from bot.webhook_lane import HelplineApi

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, *, helpline: Helpline | None = None, worker: bool = False
) -> FastAPI:
    """The app; ``worker`` for a process that serves until it stops (``bot.asgi``)."""
    settings = settings or (helpline.settings if helpline else Settings())
    helpline = helpline or build_helpline(settings)
    housekeeping = Housekeeping(helpline)
    channels: list[ChannelAdapter] = [sms.SmsChannel(helpline)]
    if settings.telegram_enabled:
        # Imported only when configured: python-telegram-bot and httpx cost a worker ~20 MB.
        from bot.channels.telegram import TelegramChannel

        channels.append(TelegramChannel(helpline))
    live_chats = LiveChats(helpline.sessions, helpline.relay)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            await helpline.start()
            for channel in channels:
                await channel.start()
            await live_chats.start()
        except Exception as error:
            # The server's own report would quote the message (SQL and its parameters).
            log.error("start-up failed error=%s", type(error).__name__)
            raise StartupFailed(type(error).__name__) from None
        housekeeping.start()
        if worker:
            _load_what_first_messages_need()
            _freeze_what_start_loaded()
        try:
            yield
        finally:
            await _quietly("housekeeping", housekeeping.stop())
            await _quietly("live chats", live_chats.stop())
            for channel in reversed(channels):
                await _quietly("channel", channel.stop())
            await _quietly("help line", helpline.stop())

    webhooks = [route for channel in channels for route in channel.webhooks()]
    app = HelplineApi(
        webhooks=webhooks,
        live_first=LiveFirst(helpline.priority, live_chats, helpline.engine),
        title="Help line",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.is_demo else None,
    )
    app.state.helpline = helpline
    app.state.live_chats = live_chats
    app.add_middleware(metrics.RequestMetrics)
    # Outside the metrics: a body refused unread costs the app nothing at all.
    app.add_middleware(BodyLimits)
    faults.install(app)

    app.include_router(console.router(helpline))
    app.include_router(console_language.router(helpline))
    app.include_router(supervisor.router(helpline))
    app.add_middleware(console_language.ConsoleLanguage, helpline=helpline)
    if settings.is_demo:
        app.include_router(simulator.router(helpline))

    @app.get("/healthz", tags=["health"], responses=openapi.HEALTHZ)
    async def healthz() -> dict[str, str]:
        """Answer while the process serves requests."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses=openapi.READYZ)
    async def readyz() -> Response:
        """Answer 200 when the database and the relay answer, 503 when one does not."""
        checks = {
            "database": await _database_ready(helpline),
            "relay": await helpline.relay.healthy(),
        }
        status = 200 if all(checks.values()) else 503
        return JSONResponse({"ready": status == 200, **checks}, status_code=status)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus(request: Request) -> Response:
        """Serve metrics to a scraper holding HELPLINE_METRICS_TOKEN; 404 for everyone else."""
        if not _metrics_allowed(helpline, request.headers.get("authorization", "")):
            return Response("Not found", status_code=404)
        body = await metrics.exposition(
            helpline.sessions, helpline.clock(), relay_up=await helpline.relay.healthy()
        )
        return Response(body, media_type=metrics.CONTENT_TYPE)

    return app


class StartupFailed(RuntimeError):
    """Start-up failed; the cause is named by type only (its message may quote data)."""


def _load_what_first_messages_need() -> None:
    """Read now what every worker would read on its first messages, on the event loop.

    Every language's catalogue and keywords (``language_detect.prepare``) and the names
    of every country (``countries.country_codes``, for a number's country): together
    about 200 ms of CPU and 4.6 MB, paid here once instead of as a pause in which no
    webhook is answered. Loaded before the freeze, they are never scanned by the
    collector either."""
    language_detect.prepare()
    countries.country_codes()


def _freeze_what_start_loaded() -> None:
    """Keep what start-up loaded out of every later garbage collection.

    Modules, catalogues, the directory and the cached people live as long as the worker.
    Left in the collector's oldest generation, they were scanned by every full
    collection: about 185,000 objects, a pause of about 100 ms in which no webhook is
    answered (measured 2026-11-30, one SQLite worker under the benchmark's SMS mix;
    the pauses were the SMS path's p99). Frozen, a full collection scans what came
    later (about 20,000 objects, 6 ms). Garbage is collected first, so none is frozen.
    Tests build many apps in one process and leave this off.
    """
    gc.collect()
    gc.freeze()


async def _quietly(part: str, stopping: Awaitable[None]) -> None:
    """Stop one part; a failure is logged by type and the other parts still stop."""
    try:
        await stopping
    except Exception as error:
        log.error("shutdown of %s failed error=%s", part, type(error).__name__)


def _metrics_allowed(helpline: Helpline, authorization: str) -> bool:
    token = helpline.settings.metrics_token
    if token is None or not token.get_secret_value():
        return False
    scheme, _, given = authorization.partition(" ")
    expected = token.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)


async def _database_ready(helpline: Helpline) -> bool:
    try:
        async with helpline.db.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
