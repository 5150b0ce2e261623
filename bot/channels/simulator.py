"""The web simulator (demo only): a page that behaves like a phone, through the same engine.

SMS style shows numbered text exactly as a basic phone would get it; Telegram style
shows buttons. Each open page is one person with a random id that lives only in this
process's memory; advocate replies reach it through the same ``Senders`` registry as
any carrier.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse

from bot.helpline import Helpline
from bot.render import numbered
from bot.types import Address, Channel, Inbound, Reply

log = logging.getLogger(__name__)

PAGE = Path(__file__).resolve().parent / "static" / "simulator.html"
MAX_TEXT = 2000


def reply_json(reply: Reply, style: str) -> dict[str, Any]:
    if style == "sms":
        return {"text": numbered(reply), "buttons": [], "direction": reply.direction}
    return {
        "text": reply.text,
        "buttons": [{"label": b.label, "payload": b.payload} for b in reply.buttons],
        "direction": reply.direction,
    }


class SimulatorPhones:
    """Open simulator pages by their random id; a ``Sender`` for advocate replies."""

    def __init__(self) -> None:
        self._pages: dict[str, tuple[WebSocket, str]] = {}

    def open(self, phone_id: str, socket: WebSocket, style: str) -> None:
        self._pages[phone_id] = (socket, style)

    def close(self, phone_id: str) -> None:
        self._pages.pop(phone_id, None)

    async def send(self, address: Address, replies: Sequence[Reply]) -> bool:
        page = self._pages.get(address.value)
        if page is None:
            return False
        socket, style = page
        await socket.send_json({"replies": [reply_json(r, style) for r in replies], "pushed": True})
        return True


def router(helpline: Helpline) -> APIRouter:
    phones = SimulatorPhones()
    helpline.senders.register(Channel.SIMULATOR, phones)
    api = APIRouter(prefix="/simulator", include_in_schema=False)

    @api.get("")
    async def page() -> HTMLResponse:
        return HTMLResponse(await asyncio.to_thread(PAGE.read_text, encoding="utf-8"))

    @api.websocket("/ws")
    async def phone(socket: WebSocket) -> None:
        await socket.accept()
        phone_id = secrets.token_urlsafe(16)
        style = "sms"
        try:
            while True:
                message = await socket.receive_json()
                if not isinstance(message, dict):
                    continue
                style = "telegram" if message.get("style") == "telegram" else "sms"
                phones.open(phone_id, socket, style)
                text = str(message.get("text") or "")[:MAX_TEXT]
                choice = message.get("choice")
                alias, previous = await helpline.engine.identify(Channel.SIMULATOR, phone_id)
                turn = await helpline.engine.handle(
                    Inbound(
                        channel=Channel.SIMULATOR,
                        alias=alias,
                        previous_alias=previous,
                        text=text,
                        choice=str(choice) if choice else None,
                        address=Address(Channel.SIMULATOR, phone_id),
                        language_hint=_opt(message.get("language_code")),
                        country_hint=_opt(message.get("country")),
                    )
                )
                await socket.send_json(
                    {
                        "replies": [reply_json(r, style) for r in turn.replies],
                        "ended": turn.end_session,
                        "forget": turn.forget_chat,
                    }
                )
        except WebSocketDisconnect:
            pass
        finally:
            phones.close(phone_id)

    return api


def _opt(value: object) -> str | None:
    return str(value)[:16] if isinstance(value, str) and value else None
