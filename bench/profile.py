"""Profile the SMS webhook path in one process: ``python -m bench.profile [--engine]``.

Drives the real app (or, with ``--engine``, only ``Engine.identify`` + ``Engine.handle``)
with the benchmark's traffic mix at 32 concurrent requests under pyinstrument, and
prints where the time goes. pyinstrument is a development tool, not a dependency:
``pip install pyinstrument``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from bench.env import SECRET_KEY, TWILIO_SID, TWILIO_TOKEN
from bench.traffic import SMS_PATH, messages, phone, sms_form

PUBLIC_URL = "http://127.0.0.1:8999"


def _environment(database_url: str) -> None:
    os.environ.update(
        HELPLINE_MODE="serve",
        HELPLINE_SECRET_KEY=SECRET_KEY,
        HELPLINE_DATABASE_URL=database_url,
        HELPLINE_PUBLIC_URL=PUBLIC_URL,
        HELPLINE_LOG_LEVEL="WARNING",
        TWILIO_ACCOUNT_SID=TWILIO_SID,
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        TWILIO_FROM_NUMBER="+15550100000",
        TWILIO_API_BASE_URL="http://127.0.0.1:9",
        HELPLINE_TWILIO_DELETE_MESSAGES="false",
    )


async def _engine_turns(count: int, concurrency: int) -> float:
    from bot.helpline import build_helpline
    from bot.settings import Settings
    from bot.types import Address, Channel, Inbound

    helpline = build_helpline(Settings())
    await helpline.start()
    pending = list(messages(count))

    async def worker() -> None:
        while pending:
            message = pending.pop(0)
            number = phone(message.sender)
            alias, previous = await helpline.engine.identify(Channel.SMS, number)
            await helpline.engine.handle(
                Inbound(
                    channel=Channel.SMS,
                    alias=alias,
                    previous_alias=previous,
                    text=message.text,
                    address=Address(Channel.SMS, number),
                    country_hint="US",
                    message_id=f"SM{id(message):x}{len(pending)}",
                )
            )

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await helpline.stop()
    return count / elapsed


async def _app_requests(count: int, concurrency: int) -> float:
    import httpx
    from twilio.request_validator import RequestValidator

    from bot.asgi import app

    url = PUBLIC_URL + SMS_PATH
    validator = RequestValidator(TWILIO_TOKEN)
    forms = [sms_form(message, TWILIO_SID) for message in messages(count)]
    signed = [(form, validator.compute_signature(url, form)) for form in forms]
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client,
    ):

        async def worker() -> None:
            while signed:
                form, signature = signed.pop()
                response = await client.post(
                    SMS_PATH, data=form, headers={"X-Twilio-Signature": signature}
                )
                if response.status_code != 200:
                    raise RuntimeError(f"webhook answered {response.status_code}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return count / elapsed


def _memoise_catalogue_words() -> None:
    """Measure the proposed change without making it: cache each catalogue's keyword lists."""
    import functools

    from bot.i18n import Catalogue

    original = Catalogue.words
    cache: dict[tuple[int, str], tuple[str, ...]] = {}

    @functools.wraps(original)
    def words(self: Catalogue, key: str) -> tuple[str, ...]:
        found = cache.get((id(self), key))
        if found is None:
            found = cache[(id(self), key)] = original(self, key)
        return found

    Catalogue.words = words  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--engine", action="store_true", help="profile the engine alone")
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--no-profile", action="store_true", help="only time it")
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--try-words-cache",
        action="store_true",
        help="experiment: memoise Catalogue.words in this process (a proposed bot/i18n.py change)",
    )
    args = parser.parse_args()
    if args.try_words_cache:
        _memoise_catalogue_words()
    with tempfile.TemporaryDirectory(prefix="helpline-profile-") as work:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(work, 'p.db')}"
        from bot.migrate import migrate

        asyncio.run(migrate(url))
        _environment(url)
        run = _engine_turns if args.engine else _app_requests
        if args.no_profile:
            rate = asyncio.run(run(args.count, 32))
            print(f"{rate:,.0f} per second")
            return
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="enabled")
        profiler.start()
        rate = asyncio.run(run(args.count, 32))
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        print(f"{rate:,.0f} per second (under the profiler)")


if __name__ == "__main__":
    main()
