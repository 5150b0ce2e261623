"""Held messages across two workers on Redis: held where they arrived, re-sent and let go over pub/sub."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.helpline import Helpline, build_helpline
from bot.redis_relay import RedisRelay
from bot.relay import PersonMessage, parse_event, ticket_topic
from bot.types import Channel
from tests import services
from tests.conftest import FrozenClock, make_settings, prepare_database
from tests.console.conftest import Phone
from tests.console.test_queue import advocate, join_line

pytestmark = pytest.mark.redis


@pytest.fixture
async def workers(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[tuple[Helpline, Helpline]]:
    services.require("Redis", services.redis_available())
    url = f"sqlite+aiosqlite:///{tmp_path}/helpline.db"
    await prepare_database(url)
    pair = [
        build_helpline(make_settings(url, HELPLINE_REDIS_URL=services.REDIS_URL), clock=clock)
        for _ in range(2)
    ]
    for worker in pair:
        await worker.start()
        assert isinstance(worker.relay, RedisRelay)
        async with asyncio.timeout(5):
            await worker.relay.wait_connected()
    try:
        yield pair[0], pair[1]
    finally:
        for worker in pair:
            await worker.stop()


async def test_a_page_on_another_worker_gets_what_was_held_and_lets_it_go(
    workers: tuple[Helpline, Helpline], clock: FrozenClock
) -> None:
    here, there = workers  # the person's webhook lands here, the advocate's page is there
    here.senders.register(Channel.SIMULATOR, Phone())
    person, ticket_id = await join_line(here, clock)
    ana = await advocate(here, "ana")
    await there.queue.claim(ticket_id=ticket_id, advocate_id=ana)
    await person.send("CROSSCANARY written while the page reloads")
    assert here.queue.holding(ticket_id) == 1
    async with there.relay.subscribe(ticket_topic(ticket_id)) as page:
        await there.queue.replay(ticket_id)  # the page (re)opened the chat, on the other worker
        async with asyncio.timeout(5):
            while not isinstance(message := parse_event(await page.get()), PersonMessage):
                pass
        assert message.text.startswith("CROSSCANARY")
        await there.queue.acknowledge(ticket_id, message.id)
        async with asyncio.timeout(5):
            while here.queue.holding(ticket_id):  # noqa: ASYNC110 (polling another worker's state)
                await asyncio.sleep(0.01)
    # Pub/sub only: Redis holds no key with what the person wrote.
    client = Redis.from_url(services.REDIS_URL)
    try:
        for key in await client.keys("*"):
            value = await client.dump(key)
            assert value is None or b"CROSSCANARY" not in value
    finally:
        await client.aclose()
