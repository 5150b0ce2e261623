"""One effect per intent on two workers (PostgreSQL + Redis): copies of one message id
delivered at once are answered once, and fifty taps of "yes" open one ticket."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests import services
from tests.fakes.telegram_api import (
    FakeTelegram,
    TelegramUser,
    payloads,
    running_fake,
    telegram_settings,
)
from tests.fakes.twilio_api import (
    FakeTwilio,
    Server,
    inbound_sid,
    twilio_settings,
)
from tests.scale.cluster import RedisServer, Worker
from tests.scale.sms import new_number, open_tickets, text

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@dataclass
class Pair:
    a: Worker
    b: Worker
    database_url: str
    telegram: FakeTelegram


@pytest.fixture(scope="module")
def pair(scale_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    services.require("redis-server", RedisServer.binary() is not None)
    work = tmp_path_factory.mktemp("once")
    redis = RedisServer(work)
    twilio = FakeTwilio()
    twilio_server = Server(twilio.app())
    workers: list[Worker] = []
    telegram_fake = running_fake()
    telegram = telegram_fake.__enter__()
    try:
        redis.start()
        twilio_server.start()
        twilio.url = twilio_server.url
        env = {
            "HELPLINE_DATABASE_URL": scale_database,
            "HELPLINE_REDIS_URL": redis.url,
            **{k: str(v) for k, v in twilio_settings(twilio).items()},
            **{k: str(v) for k, v in telegram_settings(telegram).items()},
        }
        workers = [Worker("a", env, work), Worker("b", env, work)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready()
        yield Pair(workers[0], workers[1], scale_database, telegram)
    finally:
        for worker in workers:
            worker.stop()
        telegram_fake.__exit__(None, None, None)
        twilio_server.stop()
        redis.stop()


async def test_ten_copies_of_one_message_id_on_two_workers_make_one_reply(pair: Pair) -> None:
    async with (
        httpx.AsyncClient(base_url=pair.a.url, timeout=30) as a,
        httpx.AsyncClient(base_url=pair.b.url, timeout=30) as b,
    ):
        for _ in range(5):  # five people, each message delivered ten times at once
            sid, number = inbound_sid(), new_number()
            copies = [text((a, b)[i % 2], number, "hello", sid) for i in range(10)]
            answers = await asyncio.gather(*copies)
            assert sum(1 for answer in answers if answer) == 1


async def test_taps_of_yes_on_two_workers_open_one_ticket(pair: Pair) -> None:
    # The Telegram button carries its meaning ("talk:yes") whatever state the person is
    # in by the time the copy arrives; an SMS "1" is read against the current menu.
    before = await open_tickets(pair.database_url)
    chat_id = 700_000 + secrets.randbelow(100_000)
    async with (
        httpx.AsyncClient(base_url=pair.a.url, timeout=30) as a,
        httpx.AsyncClient(base_url=pair.b.url, timeout=30) as b,
    ):
        on_a = TelegramUser(a, pair.telegram, chat_id=chat_id)
        on_b = TelegramUser(b, pair.telegram, chat_id=chat_id)
        await on_a.say("hello")
        await pair.telegram.wait_for(lambda fake: bool(on_a_buttons(fake, chat_id, "talk")))
        await on_a.press("talk")
        await pair.telegram.wait_for(lambda fake: bool(on_a_buttons(fake, chat_id, "talk:yes")))
        # Ten taps: each is answered in the chat, paced as Telegram requires (50 at once
        # on one worker, both backends: tests/ops/test_one_ticket.py).
        taps = [(on_a, on_b)[i % 2] for i in range(10)]
        answers = await asyncio.gather(*(tap.post(tap.button("talk:yes")) for tap in taps))
        assert all(answer.status_code == 200 for answer in answers)
        await pair.telegram.settle(1.0)
    assert await open_tickets(pair.database_url) == before + 1


async def test_ten_copies_of_one_telegram_update_on_two_workers_make_one_reply(pair: Pair) -> None:
    async with (
        httpx.AsyncClient(base_url=pair.a.url, timeout=30) as a,
        httpx.AsyncClient(base_url=pair.b.url, timeout=30) as b,
    ):
        for _ in range(3):
            chat_id = 800_000 + secrets.randbelow(100_000)
            people = (
                TelegramUser(a, pair.telegram, chat_id=chat_id),
                TelegramUser(b, pair.telegram, chat_id=chat_id),
            )
            update = people[0].message(text="hello")
            answers = await asyncio.gather(*(people[i % 2].post(update) for i in range(10)))
            assert all(answer.status_code == 200 for answer in answers)
            await pair.telegram.wait_for(lambda fake, chat=chat_id: bool(fake.sent(chat)))
            await pair.telegram.settle(1.0)
            once = len(pair.telegram.sent(chat_id))
            # The same update once more, much later: still nothing more is sent.
            await people[1].post(update)
            await pair.telegram.settle(0.5)
            assert len(pair.telegram.sent(chat_id)) == once
            assert once <= 2  # the welcome and its menu, once


def on_a_buttons(fake: FakeTelegram, chat_id: int, payload: str) -> list[object]:
    return [call for call in fake.sent(chat_id) if payload in payloads(call)]
