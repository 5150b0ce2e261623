"""A fake Telegram Bot API on 127.0.0.1, served over real HTTP from a thread.

The real python-telegram-bot talks to it through ``TELEGRAM_API_BASE_URL``. It answers
the methods the help line uses as the Bot API documents them, gives each sent message
the next message id of its chat, records every call, and can be told to answer 429
with ``retry_after``, 403 "bot was blocked by the user" or a 502. Downloading anything
(``getFile`` or a file URL) is recorded as a violation: the help line never fetches media.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx

TOKEN = "123456:fake-token-for-tests-0123456789abcdefgh"
BOT_ID = 123456
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Help line", "username": "helpline_bot"}
FIRST_MESSAGE_ID = 1000


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    params: dict[str, Any]
    at: float
    ok: bool
    result_id: int = 0
    """The message id the fake gave a sent message."""


@dataclass(slots=True)
class Trouble:
    status: int
    description: str
    retry_after: int | None = None
    times: int = 1


@dataclass
class FakeTelegram:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    """Downloads the help line must never make (getFile, file URLs)."""
    blocked_chats: set[int] = field(default_factory=set)
    webhook_url: str = ""
    """What setWebhook registered; getWebhookInfo reports it (``helpline doctor``)."""
    _trouble: dict[str, list[Trouble]] = field(default_factory=lambda: defaultdict(list))
    _next_id: dict[int, Iterator[int]] = field(default_factory=dict)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what tests tell the fake ----------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        status: int,
        description: str = "",
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error."""
        with self._lock:
            self._trouble[method].append(Trouble(status, description, retry_after, times))

    def block(self, chat_id: int) -> None:
        """Behave as if this person blocked the bot: sending to them answers 403."""
        with self._lock:
            self.blocked_chats.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        with self._lock:
            self.blocked_chats.discard(chat_id)

    def queue_update(self, update: dict[str, Any]) -> None:
        """Make an update available to getUpdates (polling mode)."""
        with self._lock:
            self._updates.append(update)

    def next_message_id(self, chat_id: int) -> int:
        """Take the next message id of a chat (used for the person's own messages too)."""
        with self._lock:
            return self._take_id(chat_id)

    # --- what tests read -------------------------------------------------------------

    def of(self, method: str, *, ok: bool = True) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method and call.ok == ok]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        return [
            call
            for call in self.of("sendMessage")
            if chat_id is None or call.params["chat_id"] == chat_id
        ]

    def deleted_ids(self, chat_id: int) -> list[int]:
        ids: list[int] = []
        for call in self.of("deleteMessages"):
            if call.params["chat_id"] == chat_id:
                ids.extend(call.params["message_ids"])
        return ids

    async def wait_for(
        self, condition: Callable[[FakeTelegram], bool], *, seconds: float = 10.0
    ) -> None:
        import asyncio

        deadline = time.monotonic() + seconds
        while not condition(self):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"fake Telegram never saw the expected calls; saw {self.methods()}"
                )
            await asyncio.sleep(0.02)

    async def settle(self, seconds: float = 0.3) -> None:
        """Wait until no call has arrived for ``seconds`` (the bot has finished talking)."""
        import asyncio

        count = -1
        while count != len(self.calls):
            count = len(self.calls)
            await asyncio.sleep(seconds)

    def methods(self) -> list[str]:
        with self._lock:
            return [call.method for call in self.calls]

    # --- the server side -------------------------------------------------------------

    def _take_id(self, chat_id: int) -> int:
        counter = self._next_id.setdefault(chat_id, itertools.count(FIRST_MESSAGE_ID))
        return next(counter)

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            trouble = self._trouble.get(method)
            if trouble:
                current = trouble[0]
                current.times -= 1
                if current.times <= 0:
                    trouble.pop(0)
                self.calls.append(Call(method, params, time.monotonic(), ok=False))
                return current.status, _error(current)
            chat_id = params.get("chat_id")
            if method == "sendMessage" and chat_id in self.blocked_chats:
                self.calls.append(Call(method, params, time.monotonic(), ok=False))
                return 403, _error(Trouble(403, "Forbidden: bot was blocked by the user"))
            if method == "getFile":
                self.violations.append("getFile")
                self.calls.append(Call(method, params, time.monotonic(), ok=False))
                return 400, _error(Trouble(400, "Bad Request: downloads are forbidden here"))
            result = self._result(method, params)
            result_id = result["message_id"] if method == "sendMessage" else 0
            self.calls.append(Call(method, params, time.monotonic(), ok=True, result_id=result_id))
            return 200, {"ok": True, "result": result}

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            message: dict[str, Any] = {
                "message_id": self._take_id(chat_id),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
            if "reply_markup" in params:
                message["reply_markup"] = params["reply_markup"]
            return message
        if method == "setWebhook":
            self.webhook_url = str(params.get("url", ""))
            return True
        if method == "getWebhookInfo":
            return {
                "url": self.webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": 0,
            }
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            ready = [update for update in self._updates if update["update_id"] >= offset]
            self._updates = ready
            return ready
        return True


def _error(trouble: Trouble) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": trouble.status,
        "description": trouble.description or HTTPStatus(trouble.status).phrase,
    }
    if trouble.retry_after is not None:
        body["parameters"] = {"retry_after": trouble.retry_after}
        body["description"] = f"Too Many Requests: retry after {trouble.retry_after}"
    return body


def _params(content_type: str, body: bytes) -> dict[str, Any]:
    """Read a Bot API request: JSON, or form fields whose complex values are JSON."""
    if content_type.startswith("application/json"):
        loaded = json.loads(body or b"{}")
        return dict(loaded) if isinstance(loaded, dict) else {}
    params: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        if key in ("text", "callback_query_id", "secret_token", "url", "language_code"):
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def _handler_for(fake: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            self._route(_params(self.headers.get("Content-Type", ""), body))

        def do_GET(self) -> None:
            self._route({})

        def _route(self, params: dict[str, Any]) -> None:
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            if parts[0] == "file":
                fake.violations.append("file download")
                self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            if len(parts) != 2 or parts[0] != f"bot{TOKEN}":
                self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                return
            method = parts[1]
            if method == "getUpdates":
                self._hold_for_updates(float(params.get("timeout") or 0))
            status, payload = fake.answer(method, params)
            self._reply(status, payload)

        def _hold_for_updates(self, timeout: float) -> None:
            # Long polling, shortened so that tests stay fast.
            deadline = time.monotonic() + min(timeout, 0.3)
            while not fake._updates and time.monotonic() < deadline:
                time.sleep(0.02)

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def running_fake() -> Iterator[FakeTelegram]:
    """Serve a fresh fake Bot API on a free port; fail if media was ever downloaded."""
    fake = FakeTelegram()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert not fake.violations, f"the help line downloaded media: {fake.violations}"


# --- the person's side: updates in the shapes Telegram documents ------------------------

SECRET = "fake-webhook-secret_0123456789"
WEBHOOK = "/webhooks/telegram"
_update_ids = itertools.count(500_000)


def telegram_settings(fake: FakeTelegram) -> dict[str, object]:
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": fake.url,
    }


def next_update_id() -> int:
    return next(_update_ids)


class TelegramUser:
    """One person in a private chat with the bot, posting updates to the webhook."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        fake: FakeTelegram,
        *,
        chat_id: int,
        language_code: str | None = "en",
    ) -> None:
        self.client = client
        self.fake = fake
        self.chat_id = chat_id
        self.language_code = language_code
        self.message_ids: list[int] = []
        """Ids of what this person sent, as their phone shows them."""

    @property
    def user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.chat_id, "is_bot": False, "first_name": "Canary"}
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    @property
    def chat(self) -> dict[str, Any]:
        return {"id": self.chat_id, "type": "private", "first_name": "Canary"}

    def message(self, **content: Any) -> dict[str, Any]:
        message_id = self.fake.next_message_id(self.chat_id)
        self.message_ids.append(message_id)
        return {
            "update_id": next_update_id(),
            "message": {
                "message_id": message_id,
                "from": self.user,
                "chat": self.chat,
                "date": int(time.time()),
                **content,
            },
        }

    async def say(self, text: str) -> httpx.Response:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            length = len(text.split()[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return await self.post(self.message(**content))

    def button(self, payload: str) -> dict[str, Any]:
        """A press of the newest button with this payload that the bot sent."""
        for call in reversed(self.fake.sent(self.chat_id)):
            if payload in payloads(call):
                message_id = call.result_id
                break
        else:
            raise AssertionError(f"no button {payload!r} was offered")
        return {
            "update_id": next_update_id(),
            "callback_query": {
                "id": f"cb{next_update_id()}",
                "from": self.user,
                "message": {
                    "message_id": message_id,
                    "from": BOT_USER,
                    "chat": self.chat,
                    "date": int(time.time()),
                    "text": call.params["text"],
                },
                "chat_instance": "42",
                "data": payload,
            },
        }

    async def press(self, payload: str) -> httpx.Response:
        return await self.post(self.button(payload))

    async def post(self, update: dict[str, Any], *, secret: str | None = SECRET) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return await self.client.post(WEBHOOK, json=update, headers=headers)


def payloads(call: Call) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    return [button["callback_data"] for row in markup.get("inline_keyboard", []) for button in row]


def labels(call: Call) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    return [button["text"] for row in markup.get("inline_keyboard", []) for button in row]
