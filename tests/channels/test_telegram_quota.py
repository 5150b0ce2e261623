"""Telegram's bot-wide limit holds for all workers together, as Telegram's servers count it."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
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
"""Seconds by which two grants may bunch up: a timer that fires late, then one on time."""


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


@dataclass(frozen=True)
class Sent:
    granted: list[float]
    """When each quota let a message go (every worker in this process: one clock)."""
    arrived: list[float]
    """When each reached the fake Bot API. Under load the HTTP client can bunch these
    up by more than the quota spaced them; Telegram's count would see that too, but
    it is the machine's, so the limit is checked on the grants."""


async def send_from_workers(
    fake: FakeTelegram,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    *,
    workers: int,
    each: int,
) -> Sent:
    """``workers`` senders, each with its own bot client and quota, send ``each`` messages."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}", **telegram_settings(fake))
    line = build_helpline(settings)
    namespace = "test-quota-" + secrets.token_hex(6)
    quotas = [SharedQuota(redis_url, namespace=namespace, per_second=LIMIT) for _ in range(workers)]
    granted: list[float] = []
    for quota in quotas:

        async def take(quota_take: Callable[[], Awaitable[None]] = quota.take) -> None:
            await quota_take()
            granted.append(time.monotonic())

        monkeypatch.setattr(quota, "take", take)
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
    assert len(sent) == len(granted) == workers * each
    return Sent(granted, [call.at for call in sent])


async def test_two_workers_together_send_at_most_the_limit_in_any_second(
    fake: FakeTelegram, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services.require("Redis", services.redis_available())
    sent = await send_from_workers(
        fake, tmp_path, monkeypatch, services.REDIS_URL, workers=2, each=30
    )
    assert most_in_any_window(sent.granted, 1.0 - JITTER) <= LIMIT
    # 60 messages at 20 a second: the last can only reach Telegram two seconds after the first.
    assert max(sent.arrived) - min(sent.arrived) >= 60 / LIMIT - 1 - JITTER


async def test_without_redis_a_worker_still_sends_at_a_share_of_the_limit(
    fake: FakeTelegram, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nobody = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    sent = await send_from_workers(fake, tmp_path, monkeypatch, nobody, workers=1, each=8)
    assert most_in_any_window(sent.granted, 1.0 - JITTER) <= LIMIT // DEGRADED_SHARE
    assert max(sent.arrived) - min(sent.arrived) >= 8 / (LIMIT // DEGRADED_SHARE) - 1 - JITTER
