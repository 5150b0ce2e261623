"""Migration 0006_carrier_records adds the table of records to delete and can be undone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from tests import services
from tests.console.test_supervisor_migration import _run, run_sync


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/records.db"
        return
    services.require("PostgreSQL", services.postgres_available())
    name = await asyncio.to_thread(services.create_database)
    yield services.postgres_url(name)
    await asyncio.to_thread(services.drop_database, name)


async def _columns(url: str) -> dict[str, list[str]]:
    def tables(connection: Connection) -> dict[str, list[str]]:
        look = inspect(connection)
        return {
            name: [str(column["name"]) for column in look.get_columns(name)]
            for name in look.get_table_names()
        }

    return await run_sync(url, tables)


async def test_the_records_table_comes_with_the_upgrade_and_goes_with_the_downgrade(
    empty_database: str,
) -> None:
    await _run(empty_database, "0005_queue_pages")
    assert "carrier_record" not in await _columns(empty_database)
    await _run(empty_database, "0006_carrier_records")
    # The id, when it was queued, who claims it: nothing about the person or the message.
    assert (await _columns(empty_database))["carrier_record"] == ["sid", "queued_at", "claimed_at"]
    await _run(empty_database, "0005_queue_pages", down=True)
    assert "carrier_record" not in await _columns(empty_database)
