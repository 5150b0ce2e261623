"""Migration 0003_supervisor keeps every daily count and can be undone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.db import create_engine
from bot.migrate import alembic_config

T = TypeVar("T")


async def run_sync(url: str, work: Callable[[Connection], T]) -> T:
    """``work`` on a maintenance connection to ``url``, in one transaction (the migration
    tests' one way to reach a database)."""
    engine = create_engine(url, maintenance=True)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


async def _run(url: str, target: str, *, down: bool = False) -> None:
    def step(connection: Connection) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, target)

    await run_sync(url, step)


async def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    def rows(connection: Connection) -> list[tuple[object, ...]]:
        result = connection.execute(text(sql))
        return [tuple(row) for row in result] if result.returns_rows else []

    return await run_sync(url, rows)


async def test_old_counts_are_kept_under_the_unknown_country_and_come_back_on_downgrade(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    await _run(url, "0003_ops")
    await _rows(
        url,
        "INSERT INTO daily_count (day, channel, language, metric, count) "
        "VALUES ('2026-11-01', 'sms', 'es', 'message', 7)",
    )
    await _run(url, "0003_supervisor")
    assert await _rows(
        url, "SELECT day, channel, language, country, metric, count FROM daily_count"
    ) == [("2026-11-01", "sms", "es", "", "message", 7)]
    # Country is part of the key now: the same day, channel, language and metric in Mexico.
    await _rows(
        url,
        "INSERT INTO daily_count (day, channel, language, country, metric, count) "
        "VALUES ('2026-11-01', 'sms', 'es', 'MX', 'message', 5)",
    )
    assert await _rows(url, "SELECT console_language FROM advocate") == []
    await _run(url, "0003_ops", down=True)
    assert await _rows(url, "SELECT day, channel, language, metric, count FROM daily_count") == [
        ("2026-11-01", "sms", "es", "message", 12)
    ]


async def test_the_console_time_zone_column_comes_and_goes_with_its_migration(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/zone.db"
    await _run(url, "0003_supervisor")
    await _rows(
        url,
        "INSERT INTO advocate (name, password_hash, totp_secret_ciphertext, totp_last_step, "
        "role, languages, failed_logins, active, max_chats, console_language, created_at) "
        "VALUES ('ana', 'x', X'00', 0, 'advocate', 'ro', 0, 1, 3, '', '2026-11-01')",
    )
    await _run(url, "0004_console_timezone")
    assert await _rows(url, "SELECT name, console_timezone FROM advocate") == [("ana", "")]
    await _rows(url, "UPDATE advocate SET console_timezone = 'Europe/Bucharest'")
    await _run(url, "0003_supervisor", down=True)
    assert await _rows(url, "SELECT name, languages FROM advocate") == [("ana", "ro")]
    columns = await _rows(url, "SELECT name FROM pragma_table_info('advocate')")
    assert ("console_timezone",) not in columns
