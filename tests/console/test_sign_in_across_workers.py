"""Sign-in limits shared by every worker: an address gets its ten tries in all, not in each."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from bot.app import create_app
from bot.console.shared_failures import RedisFailures
from bot.console.throttle import ADDRESS_FAILURES, SignInThrottle
from bot.helpline import Helpline, build_helpline
from tests import services
from tests.conftest import FrozenClock, make_settings, prepare_database

pytestmark = pytest.mark.redis
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
async def workers(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[list[Helpline]]:
    services.require("Redis", services.redis_available())
    url = f"sqlite+aiosqlite:///{tmp_path}/helpline.db"  # its own namespace in Redis
    await prepare_database(url)
    settings = make_settings(url, HELPLINE_REDIS_URL=services.REDIS_URL)
    pair = [build_helpline(settings, clock=clock) for _ in range(2)]
    yield pair
    for worker in pair:
        await worker.db.dispose()


async def attempt(client: httpx.AsyncClient, name: str) -> int:
    """One sign-in as a browser makes it: fetch the form, post it; the status answered."""
    page = await client.get("/console/login")
    found = _CSRF.search(page.text)
    if found is None:
        return page.status_code  # the form itself was refused
    form = {"csrf": found.group(1), "name": name, "password": "wrong" * 3, "code": "000000"}
    return (await client.post("/console/login", data=form)).status_code


def checked() -> float:
    labels = {"handling": "checked"}
    return REGISTRY.get_sample_value("helpline_console_sign_ins_total", labels) or 0.0


async def test_one_address_gets_ten_checks_across_two_workers(workers: list[Helpline]) -> None:
    apps = [create_app(helpline=worker) for worker in workers]
    async with (
        apps[0].router.lifespan_context(apps[0]),
        apps[1].router.lifespan_context(apps[1]),
    ):
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
            for app in apps
        ]
        before = checked()
        answers = [
            await attempt(clients[n % 2], f"nobody-{n}") for n in range(ADDRESS_FAILURES + 2)
        ]
        for client in clients:
            await client.aclose()
    assert answers == [401] * ADDRESS_FAILURES + [429, 429]
    assert checked() - before == ADDRESS_FAILURES  # ten hashes in all, not ten per worker


async def test_with_redis_out_of_reach_each_worker_still_counts_on_its_own() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    failures = RedisFailures(unreachable, namespace="test-unreachable", key=b"k" * 32)
    throttle = SignInThrottle(failures=failures)
    address = "198.51.100.23"
    for _ in range(ADDRESS_FAILURES):
        async with throttle.checking(address):
            pass
    assert await throttle.refuses(address)
    await unreachable.aclose()
