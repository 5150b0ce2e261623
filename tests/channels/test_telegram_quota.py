"""Telegram's bot-wide limit holds for all workers together, as Telegram's servers count it."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.channels import telegram
from bot.channels.telegram_quota import DEGRADED_SHARE, SharedQuota
from bot.channels.telegram_sender import SendLimits, TelegramSender
from bot.helpline import build_helpline
from bot.types import Reply
from tests import services
from tests.conftest import make_settings
from tests.fakes.telegram_api import FakeTelegram, running_fake, telegram_settings

LIMIT = 20
"""Lower than Telegram's 30 so the test is short; the code takes the limit as given."""
LIMITS = SendLimits(per_chat=1000.0, chat_burst=1000, overall=LIMIT, overall_burst=LIMIT)
JITTER = 0.1
"""Seconds by which arrivals at the fake may bunch up (HTTP on a loaded machine)."""


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with running_fake() as fake:
        yield fake


def most_in_any_window(times: list[float], seconds: float) -> int:
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


async def send_from_workers(
    fake: FakeTelegram, tmp_path: Path, redis_url: str, *, workers: int, each: int
) -> list[float]:
    """``workers`` senders, each with its own bot client and quota, send ``each`` messages."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}", **telegram_settings(fake))
    line = build_helpline(settings)
    namespace = "test-quota-" + secrets.token_hex(6)
    quotas = [SharedQuota(redis_url, namespace=namespace, per_second=LIMIT) for _ in range(workers)]
    senders = [
        TelegramSender(telegram.build_bot(settings), line, LIMITS, shared=quota) for quota in quotas
    ]
    for sender in senders:
        await sender.bot.initialize()
    try:
        await asyncio.gather(
            *(
                sender.deliver(
                    8000 + index * each + n, None, [Reply(text="queue news")], forget_label=None
                )
                for index, sender in enumerate(senders)
                for n in range(each)
            )
        )
    finally:
        for sender, quota in zip(senders, quotas, strict=True):
            await sender.bot.shutdown()
            await quota.close()
        await line.db.dispose()
    sent = fake.sent()
    assert len(sent) == workers * each
    return [call.at for call in sent]


async def test_two_workers_together_send_at_most_the_limit_in_any_second(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    services.require("Redis", services.redis_available())
    arrivals = await send_from_workers(fake, tmp_path, services.REDIS_URL, workers=2, each=30)
    assert most_in_any_window(arrivals, 1.0 - JITTER) <= LIMIT
    # 60 messages at 20 a second: the last can only go two seconds after the first.
    assert max(arrivals) - min(arrivals) >= 60 / LIMIT - 1 - JITTER


async def test_without_redis_a_worker_still_sends_at_a_share_of_the_limit(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    nobody = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    arrivals = await send_from_workers(fake, tmp_path, nobody, workers=1, each=8)
    assert most_in_any_window(arrivals, 1.0 - JITTER) <= LIMIT // DEGRADED_SHARE
