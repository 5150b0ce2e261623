"""The web simulator (demo only): a page that behaves like a phone, through the same engine.

SMS style shows numbered text exactly as a basic phone would get it; Telegram style
shows buttons. Each open page is one person with a random id that lives only in this
process's memory; advocate replies reach it through the same ``Senders`` registry as
any carrier. The advocate may sit on another worker: a reply for a page this
process does not hold goes through the relay to the worker that holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse

from bot.helpline import Helpline
from bot.relay import Event, Relay, Subscription
from bot.render import sms_parts
from bot.types import Address, Button, Channel, Reply

log = logging.getLogger(__name__)

PAGE = Path(__file__).resolve().parent / "static" / "simulator.html"
MAX_TEXT = 2000
MAX_CHOICE = 64
"""A button payload is short; Telegram allows 64 bytes."""


def replies_json(replies: Sequence[Reply], style: str) -> list[dict[str, Any]]:
    """SMS style: exactly the texts a phone would get, split to the segment budget."""
    if style == "sms":
        return [
            {"text": part, "buttons": [], "direction": reply.direction}
            for reply in replies
            for part in sms_parts(reply)
        ]
    return [
        {
            "text": reply.text,
            "buttons": [{"label": b.label, "payload": b.payload} for b in reply.buttons],
            "direction": reply.direction,
        }
        for reply in replies
    ]


def phone_topic(phone_id: str) -> str:
    # A digest, so the page's id itself never travels through the relay.
    return "simulator:" + hashlib.sha256(phone_id.encode()).hexdigest()[:32]


class SimulatorPhones:
    """Open simulator pages by their random id; a ``Sender`` for advocate replies."""

    def __init__(self, relay: Relay) -> None:
        self._relay = relay
        self._pages: dict[str, tuple[WebSocket, str]] = {}

    def open(self, phone_id: str, socket: WebSocket, style: str) -> None:
        self._pages[phone_id] = (socket, style)

    def close(self, phone_id: str) -> None:
        self._pages.pop(phone_id, None)

    async def send(self, address: Address, replies: Sequence[Reply]) -> bool:
        page = self._pages.get(address.value)
        if page is None:
            return await self._send_elsewhere(address.value, replies)
        socket, style = page
        await socket.send_json({"replies": replies_json(replies, style), "pushed": True})
        return True

    async def _send_elsewhere(self, phone_id: str, replies: Sequence[Reply]) -> bool:
        event: Event = {
            "type": "simulator",
            "replies": [
                {
                    "text": r.text,
                    "buttons": [[b.label, b.payload] for b in r.buttons],
                    "direction": r.direction,
                }
                for r in replies
            ],
        }
        try:
            await self._relay.publish(phone_topic(phone_id), event)
        except Exception as error:  # the relay is down: not delivered, like a carrier refusal
            log.warning("simulator push failed error=%s", type(error).__name__)
            return False
        return True

    async def forward(self, phone_id: str, pushes: Subscription) -> None:
        """Show this page the replies other workers sent it."""
        async for event in pushes:
            page = self._pages.get(phone_id)
            if event.get("type") != "simulator" or page is None:
                continue
            replies = [
                Reply(
                    text=str(r["text"]),
                    buttons=tuple(
                        Button(str(label), str(payload)) for label, payload in r["buttons"]
                    ),
                    direction=str(r["direction"]),
                )
                for r in event["replies"]
            ]
            await page[0].send_json({"replies": replies_json(replies, page[1]), "pushed": True})


def router(helpline: Helpline) -> APIRouter:
    phones = SimulatorPhones(helpline.relay)
    helpline.senders.register(Channel.SIMULATOR, phones)
    api = APIRouter(prefix="/simulator", include_in_schema=False)

    @api.get("")
    async def page() -> HTMLResponse:
        return HTMLResponse(await asyncio.to_thread(PAGE.read_text, encoding="utf-8"))

    @api.websocket("/ws")
    async def phone(socket: WebSocket) -> None:
        await socket.accept()
        phone_id = secrets.token_urlsafe(16)
        async with helpline.relay.subscribe(phone_topic(phone_id)) as pushes:
            forwarding = asyncio.create_task(phones.forward(phone_id, pushes))
            try:
                await _converse(helpline, phones, socket, phone_id)
            finally:
                forwarding.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await forwarding

    return api


async def _converse(
    helpline: Helpline, phones: SimulatorPhones, socket: WebSocket, phone_id: str
) -> None:
    """Pass what the page sends to the engine and show the replies, until it closes."""
    try:
        while True:
            message = _frame(await socket.receive_text())
            if message is None:
                continue  # not a JSON object of text: nothing a page of ours sends
            style = "telegram" if message.get("style") == "telegram" else "sms"
            phones.open(phone_id, socket, style)
            text = str(message.get("text") or "")[:MAX_TEXT]
            choice = message.get("choice")
            turn = await helpline.engine.receive(
                Channel.SIMULATOR,
                phone_id,
                text,
                choice=choice[:MAX_CHOICE] if isinstance(choice, str) and choice else None,
                language_hint=_opt(message.get("language_code")),
                country_hint=_opt(message.get("country")),
            )
            await socket.send_json(
                {
                    "replies": replies_json(turn.replies, style),
                    "ended": turn.end_session,
                    "forget": turn.forget_chat,
                }
            )
    except WebSocketDisconnect:
        pass
    finally:
        phones.close(phone_id)


def _frame(raw: str) -> dict[str, object] | None:
    """One frame from the page as a JSON object, or None when it is not one."""
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(message, dict) or not _encodable(message.get("text")):
        return None
    return message


def _encodable(text: object) -> bool:
    """Lone surrogates are valid JSON escapes but not text anyone can have typed."""
    if not isinstance(text, str):
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _opt(value: object) -> str | None:
    return str(value)[:16] if isinstance(value, str) and value else None
