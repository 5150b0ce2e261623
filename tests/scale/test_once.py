"""One effect per intent on two workers (PostgreSQL + Redis): copies of one message id
delivered at once are answered once, and fifty taps of "yes" open one ticket."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.i18n import catalogue
from tests import services
from tests.fakes.twilio_api import (
    ACCOUNT_SID,
    HELPLINE_NUMBER,
    FakeTwilio,
    Server,
    inbound_sid,
    post_signed,
    read_twiml,
    twilio_settings,
)
from tests.scale.cluster import RedisServer, Worker

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


def params(number: str, body: str, sid: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": number,
        "To": HELPLINE_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }


async def text(client: httpx.AsyncClient, number: str, body: str, sid: str | None = None) -> str:
    """Text the help line once; return what came back (all messages joined)."""
    response = await post_signed(
        client, "/webhooks/twilio/sms", params(number, body, sid or inbound_sid())
    )
    assert response.status_code == 200
    return "\n".join(message.body for message in read_twiml(response.text))


def option_number(menu: str, label_key: str) -> str:
    label = catalogue("en").text(label_key)
    for line in menu.splitlines():
        found = re.match(r"(\d+) (.*)", line)
        if found and found.group(2) == label:
            return found.group(1)
    raise AssertionError(f"no option {label_key!r} in the menu")


def new_number() -> str:
    return "+1202555" + f"{secrets.randbelow(10_000):04d}"


async def open_tickets(database_url: str) -> int:
    url = make_url(database_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    try:
        return int(
            await connection.fetchval("SELECT count(*) FROM ticket WHERE status != 'closed'")
        )
    finally:
        await connection.close()


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
