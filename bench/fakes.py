"""Minimal fake carriers for benchmarks: Twilio's Messages API and Telegram's Bot API.

They accept what the help line sends, answer as the real APIs do, keep nothing but a
count, and call ``on_arrival(key)`` with the recipient (phone number or chat id) so a
benchmark can stop its clock when a reply reaches the carrier. Run in-process with
``start`` or as its own process with ``python -m bench.fakes PORT``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
from collections.abc import Callable
from typing import Any

from aiohttp import web

Arrival = Callable[[str], None]
_ids = itertools.count(1)


class FakeCarriers:
    def __init__(self, on_arrival: Arrival | None = None) -> None:
        self.on_arrival = on_arrival
        self.counts: dict[str, int] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self._twilio_create)
        app.router.add_delete(
            "/2010-04-01/Accounts/{account}/Messages/{sid}.json", self._twilio_delete
        )
        app.router.add_route("*", "/bot{token}/{method}", self._telegram)
        app.router.add_get("/healthz", self._health)
        return app

    async def start(self, port: int = 0) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None
        bound = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, _: web.Request) -> web.Response:
        return web.json_response({"ok": True, "counts": self.counts})

    async def _twilio_create(self, request: web.Request) -> web.Response:
        form = await request.post()
        to = str(form.get("To", ""))
        self._count("twilio.create")
        if self.on_arrival:
            self.on_arrival(to)
        sid = f"SM{next(_ids):032x}"
        return web.json_response(
            {
                "sid": sid,
                "account_sid": request.match_info["account"],
                "to": to,
                "status": "queued",
                "direction": "outbound-api",
                "num_segments": "1",
                "api_version": "2010-04-01",
            },
            status=201,
        )

    async def _twilio_delete(self, _: web.Request) -> web.Response:
        self._count("twilio.delete")
        return web.Response(status=204)

    async def _telegram(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self._count(f"telegram.{method}")
        params = await _telegram_params(request)
        if method == "getMe":
            result: Any = {
                "id": 123456,
                "is_bot": True,
                "first_name": "Bench",
                "username": "bench_bot",
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        elif method in ("sendMessage", "editMessageText"):
            chat_id = str(params.get("chat_id", ""))
            if self.on_arrival:
                self.on_arrival(chat_id)
            result = {
                "message_id": next(_ids),
                "date": 1_700_000_000,
                "chat": {"id": int(chat_id or 0), "type": "private"},
                "text": "",
            }
        else:
            result = True
        return web.json_response({"ok": True, "result": result})


async def _telegram_params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        data: dict[str, Any] = await request.json()
        return data
    form = await request.post()
    return {key: value for key, value in form.items()}


async def _serve_forever(port: int) -> None:
    fake = FakeCarriers()
    await fake.start(port)
    print(json.dumps({"url": fake.url}), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


if __name__ == "__main__":
    asyncio.run(_serve_forever(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
