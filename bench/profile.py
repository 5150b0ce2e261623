"""Profile the SMS webhook path in one process: ``python -m bench.profile [--engine]``.

Drives the real app (or, with ``--engine``, only ``Engine.identify`` + ``Engine.handle``)
with the benchmark's traffic mix at 32 concurrent requests under pyinstrument, and
prints where the time goes. pyinstrument is a development tool, not a dependency:
``pip install pyinstrument``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.env import SECRET_KEY, TWILIO_SID, TWILIO_TOKEN, FakeCarrierProcess
from bench.traffic import SMS_PATH, messages, phone, sms_form

PUBLIC_URL = "http://127.0.0.1:8999"


def _environment(database_url: str, carrier_url: str | None) -> None:
    os.environ.update(
        HELPLINE_MODE="serve",
        HELPLINE_SECRET_KEY=SECRET_KEY,
        HELPLINE_DATABASE_URL=database_url,
        HELPLINE_PUBLIC_URL=PUBLIC_URL,
        HELPLINE_LOG_LEVEL="WARNING",
        TWILIO_ACCOUNT_SID=TWILIO_SID,
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        TWILIO_FROM_NUMBER="+15550100000",
        TWILIO_API_BASE_URL=carrier_url or "http://127.0.0.1:9",
        HELPLINE_TWILIO_DELETE_MESSAGES="true" if carrier_url else "false",
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


async def _app_requests(
    count: int, concurrency: int, burst_end: Callable[[], None] = lambda: None
) -> float:
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

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        burst_end()
        shutdown = time.process_time()
    shutdown = time.process_time() - shutdown
    # CPU time, unlike the rate, holds up on a machine shared with other work.
    print(f"CPU per request during the burst: {cpu / count * 1000:.3f} ms")
    print(f"CPU at shutdown (draining work left by the burst): {shutdown:.2f} s")
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


def _burst_end(carrier: FakeCarrierProcess | None) -> Callable[[], None]:
    def report() -> None:
        if carrier is not None:
            deleted = carrier.counts().get("twilio.delete", 0)
            print(f"records deleted at the fake carrier during the burst: {deleted}")

    return report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--engine", action="store_true", help="profile the engine alone")
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--no-profile", action="store_true", help="only time it")
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--delete",
        action="store_true",
        help="delete each message record at a fake Twilio in its own process (as in production)",
    )
    parser.add_argument(
        "--try-words-cache",
        action="store_true",
        help="experiment: memoise Catalogue.words in this process (a proposed bot/i18n.py change)",
    )
    args = parser.parse_args()
    if args.try_words_cache:
        _memoise_catalogue_words()
    with (
        tempfile.TemporaryDirectory(prefix="helpline-profile-") as work,
        contextlib.ExitStack() as stack,
    ):
        url = args.database_url or f"sqlite+aiosqlite:///{Path(work, 'p.db')}"
        from bot.migrate import migrate

        asyncio.run(migrate(url))
        carrier = stack.enter_context(FakeCarrierProcess()) if args.delete else None
        _environment(url, carrier.url if carrier else None)
        run: Callable[[int, int], Awaitable[float]] = _engine_turns
        if not args.engine:
            run = functools.partial(_app_requests, burst_end=_burst_end(carrier))
        if args.no_profile:
            rate = asyncio.run(run(args.count, 32))
            print(f"{rate:,.0f} per second")
        else:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="enabled")
            profiler.start()
            rate = asyncio.run(run(args.count, 32))
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
            print(f"{rate:,.0f} per second (under the profiler)")
        if carrier is not None:
            print(
                f"records deleted at the fake carrier: {carrier.counts().get('twilio.delete', 0)}"
            )


if __name__ == "__main__":
    main()
