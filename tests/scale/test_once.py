"""One effect per intent on two workers (PostgreSQL + Redis): copies of one message id
delivered at once are answered once, and fifty taps of "yes" open one ticket."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests import services
from tests.fakes.twilio_api import (
    FakeTwilio,
    Server,
    inbound_sid,
    twilio_settings,
)
from tests.scale.cluster import RedisServer, Worker
from tests.scale.sms import new_number, open_tickets, option_number, text

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@dataclass
class Pair:
    a: Worker
    b: Worker
    database_url: str


@pytest.fixture(scope="module")
def pair(scale_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    services.require("redis-server", RedisServer.binary() is not None)
    work = tmp_path_factory.mktemp("once")
    redis = RedisServer(work)
    twilio = FakeTwilio()
    twilio_server = Server(twilio.app())
    workers: list[Worker] = []
    try:
        redis.start()
        twilio_server.start()
        twilio.url = twilio_server.url
        env = {
            "HELPLINE_DATABASE_URL": scale_database,
            "HELPLINE_REDIS_URL": redis.url,
            **{k: str(v) for k, v in twilio_settings(twilio).items()},
        }
        workers = [Worker("a", env, work), Worker("b", env, work)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready()
        yield Pair(workers[0], workers[1], scale_database)
    finally:
        for worker in workers:
            worker.stop()
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


async def test_fifty_taps_of_yes_on_two_workers_open_one_ticket(pair: Pair) -> None:
    before = await open_tickets(pair.database_url)
    number = new_number()
    async with (
        httpx.AsyncClient(base_url=pair.a.url, timeout=30) as a,
        httpx.AsyncClient(base_url=pair.b.url, timeout=30) as b,
    ):
        menu = await text(a, number, "hello")
        consent = await text(a, number, option_number(menu, "option.talk"))
        yes = option_number(consent, "option.yes_connect")
        answers = await asyncio.gather(*(text((a, b)[i % 2], number, yes) for i in range(50)))
    assert all(answers)  # every tap is told its place; none is an error
    assert await open_tickets(pair.database_url) == before + 1
