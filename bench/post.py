"""Post signed SMS webhooks from this process, a bounded number at a bounded concurrency.

For set-up traffic (filling a help line with people and tickets), not for timing
throughput: that is wrk's job, in its own process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiohttp
from twilio.request_validator import RequestValidator

from bench.env import TWILIO_SID, TWILIO_TOKEN
from bench.traffic import SMS_PATH, Message, sms_form


async def post_sms(
    base: str,
    messages: Sequence[Message],
    *,
    concurrency: int = 32,
    client: aiohttp.ClientSession | None = None,
) -> dict[str, int]:
    """Send every message once; return how many answers had each status."""
    if client is None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as own:
            return await post_sms(base, messages, concurrency=concurrency, client=own)
    if not base.startswith("http://127.0.0.1:"):
        raise ValueError("benchmarks target loopback only")
    url = base + SMS_PATH
    validator = RequestValidator(TWILIO_TOKEN)
    statuses: dict[str, int] = {}
    pending = list(reversed(messages))

    async def worker() -> None:
        while pending:
            form = sms_form(pending.pop(), TWILIO_SID)
            headers = {"X-Twilio-Signature": validator.compute_signature(url, form)}
            try:
                async with client.post(url, data=form, headers=headers) as answer:
                    await answer.read()
                    key = str(answer.status)
            except aiohttp.ClientError:
                key = "error"
            statuses[key] = statuses.get(key, 0) + 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses
