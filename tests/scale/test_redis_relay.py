"""The Redis relay between two processes' worth of relays, on a private redis-server."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.redis_relay import RedisRelay, RelayUnavailable
from bot.relay import Subscription
from tests.scale.cluster import RedisServer, running_redis

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path) as server:
        yield server


@pytest.fixture
async def relays(redis_server: RedisServer) -> AsyncIterator[tuple[RedisRelay, RedisRelay]]:
    here = RedisRelay(redis_server.url, namespace="t", reconnect_first=0.05, reconnect_max=0.2)
    there = RedisRelay(redis_server.url, namespace="t", reconnect_first=0.05, reconnect_max=0.2)
    await here.start()
    await there.start()
    try:
        async with asyncio.timeout(5):
            await here.wait_connected()
            await there.wait_connected()
        yield here, there
    finally:
        await here.stop()
        await there.stop()


async def _next(subscription: Subscription, kind: str) -> dict[str, object]:
    async with asyncio.timeout(5):
        while True:
            event = await subscription.get()
            if event.get("type") == kind:
                return event


async def test_a_message_reaches_the_other_worker_and_redis_keeps_nothing(
    relays: tuple[RedisRelay, RedisRelay], redis_server: RedisServer
) -> None:
    here, there = relays
    canary = f"relay-canary-{secrets.token_hex(6)}"
    async with here.subscribe("ticket:7") as chat, here.subscribe("ticket:8") as other:
        await there.publish("ticket:7", {"type": "message", "from": "person", "text": canary})
        assert (await _next(chat, "message"))["text"] == canary
        with pytest.raises(TimeoutError):  # another chat hears nothing of it
            async with asyncio.timeout(0.2):
                await other.get()
    client = Redis.from_url(redis_server.url)
    try:
        assert await client.dbsize() == 0
    finally:
        await client.aclose()


async def test_the_relay_reconnects_and_resubscribes_after_redis_restarts(
    relays: tuple[RedisRelay, RedisRelay], redis_server: RedisServer
) -> None:
    here, there = relays
    async with here.subscribe("queue") as queue, here.subscribe("ticket:9") as chat:
        redis_server.stop()
        assert (await _next(chat, "relay"))["connected"] is False
        assert not await there.healthy()
        # What a person wrote must not vanish: the caller is told, and answers 503.
        with pytest.raises(RelayUnavailable):
            await there.publish("ticket:9", {"type": "message", "text": "lost?"})
        # A notice is best effort: it does not fail the caller.
        await there.publish("queue", {"type": "queue"})

        redis_server.start()
        assert (await _next(chat, "relay"))["connected"] is True
        await _next(queue, "queue")  # consoles are told to re-read the line
        await there.publish("ticket:9", {"type": "message", "text": "back"})
        assert (await _next(chat, "message"))["text"] == "back"
        assert await here.healthy()
