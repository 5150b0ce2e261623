"""The app factory: the one place that knows every part and wires them together."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from bot import faults, metrics
from bot.channels import simulator, sms, telegram
from bot.channels.base import ChannelAdapter
from bot.console import routes as console
from bot.helpline import Helpline, build_helpline
from bot.settings import Settings
from bot.tasks import Housekeeping


def create_app(settings: Settings | None = None, *, helpline: Helpline | None = None) -> FastAPI:
    settings = settings or (helpline.settings if helpline else Settings())
    helpline = helpline or build_helpline(settings)
    housekeeping = Housekeeping(helpline)
    channels: list[ChannelAdapter] = [sms.SmsChannel(helpline), telegram.TelegramChannel(helpline)]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await helpline.start()
        for channel in channels:
            await channel.start()
        housekeeping.start()
        try:
            yield
        finally:
            await housekeeping.stop()
            for channel in reversed(channels):
                await channel.stop()
            await helpline.stop()

    app = FastAPI(
        title="Help line",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.is_demo else None,
    )
    app.state.helpline = helpline
    app.add_middleware(metrics.RequestMetrics)
    faults.install(app)

    for channel in channels:
        app.include_router(channel.router())
    app.include_router(console.router(helpline))
    if settings.is_demo:
        app.include_router(simulator.router(helpline))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
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
