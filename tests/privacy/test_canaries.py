"""The canary suite: conversations full of unique strings leave none of them behind.

Every message, phone number and chat id below is a canary. People write through the
engine (as the SMS and Telegram adapters call it) and through the web simulator's
WebSocket under a real uvicorn, in all twelve languages, wait in line, chat live with
an advocate both ways and leave. Then every file in the test's directory (the SQLite
database with its -wal and -shm files, the DEBUG log, the temp directory, a /metrics
scrape), every PostgreSQL row and every Redis key is searched. One hit fails.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bot.accounts import add_advocate
from bot.app import create_app
from bot.db import is_sqlite
from bot.helpline import Helpline, build_helpline
from bot.states import Role
from bot.types import Channel
from tests import services
from tests.conftest import METRICS_HEADERS, FrozenClock, make_settings, prepare_database
from tests.privacy import flows
from tests.privacy.canaries import LANGUAGES, Canaries, RecordingSender
from tests.privacy.scanner import Hit, scan_files, scan_postgres, scan_redis


def _helpline(database_url: str) -> Helpline:
    overrides: dict[str, object] = {"HELPLINE_LOG_LEVEL": "DEBUG"}
    if not is_sqlite(database_url):
        # The scaled-out shape: PostgreSQL for state, Redis pub/sub for the relay.
        services.require("Redis", services.redis_available())
        overrides["HELPLINE_REDIS_URL"] = services.REDIS_URL
    return build_helpline(make_settings(database_url, **overrides), clock=FrozenClock())


async def _scan_everything(
    database_url: str, tmp_path: Path, canaries: Canaries
) -> tuple[list[Hit], int]:
    hits, files = scan_files([tmp_path], canaries.all)
    if is_sqlite(database_url):
        return hits, files
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    pg_hits, rows = await scan_postgres(dsn, canaries.all)
    redis_hits, _ = await scan_redis(services.REDIS_URL, canaries.all)
    assert rows > 0, "the PostgreSQL scan must have read the help line's rows"
    return hits + pg_hits + redis_hits, files


async def test_no_canary_survives_conversations_in_every_language(
    database_url: str, tmp_path: Path, debug_log: Path, private_tempdir: Path
) -> None:
    await prepare_database(database_url)
    helpline = _helpline(database_url)
    canaries = Canaries()
    carrier = RecordingSender()
    advocate, _ = await add_advocate(
        helpline.sessions,
        helpline.sealer("totp-secret"),
        name="canary-shift",
        password="a-long-enough-password",
        role=Role.ADVOCATE,
        languages=LANGUAGES,
    )
    assert advocate.id is not None
    app = create_app(helpline=helpline)
    async with flows.serve(app) as port:
        # The engine path the SMS and Telegram adapters take, with a recording carrier.
        helpline.senders.register(Channel.SMS, carrier)
        helpline.senders.register(Channel.TELEGRAM, carrier)
        for language in LANGUAGES:
            for channel in (Channel.SMS, Channel.TELEGRAM):
                await flows.engine_conversation(
                    helpline,
                    canaries,
                    carrier,
                    language=language,
                    channel=channel,
                    advocate_id=advocate.id,
                )
            await flows.simulator_conversation(
                helpline, canaries, port=port, language=language, advocate_id=advocate.id
            )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            metrics = await client.get("/metrics", headers=METRICS_HEADERS)
        (tmp_path / "metrics.txt").write_bytes(metrics.content)
        await helpline.counts.flush(helpline.sessions)
        # While the app runs: the SQLite WAL and SHM files hold the newest pages.
        live_hits, live_files = await _scan_everything(database_url, tmp_path, canaries)
    stopped_hits, _ = await _scan_everything(database_url, tmp_path, canaries)

    assert len(canaries.all) >= 12 * 3 * 6
    # SQLite: database, -wal, -shm, log, metrics; PostgreSQL: log, metrics.
    assert live_files >= (5 if is_sqlite(database_url) else 2)
    log_text = await asyncio.to_thread(debug_log.read_text, encoding="utf-8")
    assert log_text.count("ticket opened") == 36, "the DEBUG log must hold the app's lines"
    assert live_hits == []
    assert stopped_hits == []


@pytest.mark.parametrize("language", ["en", "ar"])
async def test_a_conversation_leaves_no_canary_in_the_wal_before_a_checkpoint(
    tmp_path: Path, debug_log: Path, private_tempdir: Path, language: str
) -> None:
    """SQLite: scan the -wal and -shm files while the connection that wrote them is open."""
    url = f"sqlite+aiosqlite:///{tmp_path}/helpline.db"
    await prepare_database(url)
    helpline = build_helpline(make_settings(url), clock=FrozenClock())
    canaries = Canaries()
    carrier = RecordingSender()
    helpline.senders.register(Channel.SMS, carrier)
    advocate, _ = await add_advocate(
        helpline.sessions,
        helpline.sealer("totp-secret"),
        name="wal-shift",
        password="a-long-enough-password",
        languages=(language,),
    )
    assert advocate.id is not None
    await helpline.start()
    try:
        await flows.engine_conversation(
            helpline,
            canaries,
            carrier,
            language=language,
            channel=Channel.SMS,
            advocate_id=advocate.id,
        )
        assert (tmp_path / "helpline.db-wal").stat().st_size > 0
        hits, _ = scan_files([tmp_path], canaries.all)
    finally:
        await helpline.stop()
    assert hits == []
