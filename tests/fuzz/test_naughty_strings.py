"""Every naughty string in every text field of every route and simulator frame.

Request i puts string i + k of the list into field k, so each string reaches each
field once while the request count stays at the list's length per route. Each message
also carries a canary word; none may appear in the log. Asserted: no 5xx, no
traceback in the log, no canary in the log.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from websockets.asyncio.client import connect

from tests.fakes import telegram_api, twilio_api
from tests.fuzz.conftest import LiveHelpline
from tests.fuzz.naughty import canary, naughty_strings, rotated

AT_ONCE = 8


async def each(count: int, send: Callable[[int], Awaitable[int]]) -> list[int]:
    """Send ``count`` requests, a few at a time; return their status codes."""
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(index: int) -> int:
        async with gate:
            return await send(index)

    return list(await asyncio.gather(*(one(index) for index in range(count))))


def assert_clean(live: LiveHelpline, statuses: list[int]) -> None:
    errors = [status for status in statuses if status >= 500]
    assert errors == [], f"{len(errors)} server errors"
    log = live.log_text()
    assert "Traceback" not in log
    leaked = [word for word in live.canaries if word in log]
    assert leaked == [], f"{len(leaked)} canaries in the log"


def words(text: str, live: LiveHelpline) -> str:
    word = canary()
    live.canaries.append(word)
    return f"{text} {word}"


async def test_sms_bodies(live: LiveHelpline) -> None:
    """Signed, so each body reaches the conversation."""
    bodies = rotated(0)
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:

        async def send(index: int) -> int:
            params = {
                "MessageSid": twilio_api.inbound_sid(),
                "AccountSid": twilio_api.ACCOUNT_SID,
                "From": f"+1202555{index:04d}",
                "To": twilio_api.HELPLINE_NUMBER,
                "Body": words(bodies[index], live),
                "NumMedia": "0",
            }
            response = await twilio_api.post_signed(client, "/webhooks/twilio/sms", params)
            return response.status_code

        statuses = await each(len(bodies), send)
    assert statuses.count(200) > len(bodies) // 2  # most were answered, not refused
    assert_clean(live, statuses)


async def test_every_field_of_sms_and_status_webhooks(live: LiveHelpline) -> None:
    """Signed forms whose every field is naughty: refused with a 4xx or answered."""
    names = ("MessageSid", "AccountSid", "From", "To", "Body", "NumMedia", "MessageStatus")
    columns = {name: rotated(offset) for offset, name in enumerate(names)}
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:

        async def send(index: int) -> int:
            params = {name: column[index] for name, column in columns.items()}
            params["Body"] = words(params["Body"], live)
            path = ("/webhooks/twilio/sms", "/webhooks/twilio/status")[index % 2]
            try:
                signature = twilio_api.sign(path, params)
            except UnicodeEncodeError:
                signature = "unsigned"
            response = await client.post(
                path, data=params, headers={"X-Twilio-Signature": signature}
            )
            return response.status_code

        statuses = await each(len(naughty_strings()), send)
    assert_clean(live, statuses)


async def test_telegram_messages_and_buttons(live: LiveHelpline) -> None:
    texts, codes, names, data = rotated(0), rotated(1), rotated(2), rotated(3)
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:

        async def send(index: int) -> int:
            user = {"id": 5_000_000 + index, "is_bot": False, "first_name": names[index]}
            user["language_code"] = codes[index]
            chat = {"id": 5_000_000 + index, "type": "private", "first_name": names[index]}
            message = {
                "message_id": 1,
                "date": int(time.time()),
                "from": user,
                "chat": chat,
                "text": words(texts[index], live),
            }
            update: dict[str, Any] = {"update_id": 9_000_000 + 2 * index, "message": message}
            first = await post_update(client, update)
            button = {
                "update_id": 9_000_001 + 2 * index,
                "callback_query": {
                    "id": str(index),
                    "from": user,
                    "message": {**message, "from": telegram_api.BOT_USER},
                    "chat_instance": "1",
                    "data": data[index],
                },
            }
            second = await post_update(client, button)
            return max(first, second)

        statuses = await each(len(texts), send)
    assert_clean(live, statuses)


async def post_update(client: httpx.AsyncClient, update: dict[str, Any]) -> int:
    response = await client.post(
        telegram_api.WEBHOOK,
        content=json.dumps(update, ensure_ascii=False).encode("utf-8", "surrogatepass"),
        headers={
            "X-Telegram-Bot-Api-Secret-Token": telegram_api.SECRET,
            "Content-Type": "application/json",
        },
    )
    return response.status_code


async def test_simulator_frames(live: LiveHelpline) -> None:
    fields = {
        name: rotated(offset)
        for offset, name in enumerate(("text", "choice", "language_code", "country", "style"))
    }
    count = len(naughty_strings())
    per_phone = 100
    statuses: list[int] = []
    url = live.url.replace("http", "ws", 1) + "/simulator/ws"
    for start in range(0, count, per_phone):
        async with connect(url) as phone:
            for index in range(start, min(start + per_phone, count)):
                frame = {name: column[index] for name, column in fields.items()}
                frame["text"] = words(frame["text"], live)
                await phone.send(json.dumps(frame, ensure_ascii=False))
                answer = json.loads(await phone.recv())
                while answer.get("pushed"):
                    answer = json.loads(await phone.recv())
                statuses.append(200 if "replies" in answer else 500)
            # Frames that are not JSON objects are ignored; the phone still works.
            for junk in ("{nope", "[" * 5000 + "]" * 5000, '{"text": "\\ud800"}', "7"):
                await phone.send(junk)
            await phone.send(json.dumps({"text": "hello"}))
            assert "replies" in json.loads(await phone.recv())
    assert_clean(live, statuses)


async def test_console_forms(live: LiveHelpline) -> None:
    """The login form (no account needed): every field naughty, a valid CSRF for some."""
    names, passwords, codes, tokens = rotated(0), rotated(1), rotated(2), rotated(3)
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
        page = await client.get("/console/login")
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        csrf = found.group(1) if found else ""

        async def send(index: int) -> int:
            # A real token on every 16th post, so those names and passwords are checked.
            token = csrf if index % 16 == 0 else tokens[index]
            response = await client.post(
                "/console/login",
                data={
                    "name": names[index],
                    "password": words(passwords[index], live),
                    "code": codes[index],
                    "csrf": token,
                },
            )
            return response.status_code

        statuses = await each(len(names), send)
        for path in ("/console/login", "/console", "/healthz", "/readyz", "/simulator"):
            for text in rotated(0)[:64]:
                response = await client.get(path, params={"q": text, "expired": text})
                statuses.append(response.status_code)
    assert_clean(live, statuses)
