"""The bare framework: FastAPI parsing the same webhooks and answering a fixed reply.

This is the ceiling the help line is compared with, in the same run, on the same
uvicorn flags: no signature check, no state, no rendering. ``trivial`` is an even
smaller raw ASGI app, used only to show the load generator is not the bottleneck.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Hello.</Message></Response>'

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    """Say the server is up."""
    return {"status": "ok"}


@app.post("/webhooks/twilio/sms")
async def sms(request: Request) -> Response:
    """Parse the Twilio form and answer fixed TwiML."""
    form = await request.form()
    if not form.get("From") or "Body" not in form:
        return Response(status_code=400)
    return Response(TWIML, media_type="application/xml")


_bot_api: httpx.AsyncClient | None = None


@app.post("/webhooks/telegram")
async def telegram(request: Request) -> Response:
    """Parse the update and send one fixed reply to the (fake) Bot API, as a bot would."""
    global _bot_api
    update = await request.json()
    chat_id = update["message"]["chat"]["id"]
    if _bot_api is None:
        _bot_api = httpx.AsyncClient(base_url=os.environ["BENCH_TELEGRAM_API"])
    await _bot_api.post(
        f"/bot{os.environ['BENCH_TELEGRAM_TOKEN']}/sendMessage",
        json={"chat_id": chat_id, "text": "Hello."},
    )
    return Response(status_code=200)


async def trivial(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer every request with 200 and two bytes, reading nothing."""
    if scope["type"] != "http":
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})
