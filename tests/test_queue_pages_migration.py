"""Migration 0005_queue_pages adds the line's index and can be undone."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from tests.console.test_supervisor_migration import _run, run_sync


async def _indexes(url: str) -> set[str]:
    def names(connection: Connection) -> set[str]:
        return {str(index["name"]) for index in inspect(connection).get_indexes("ticket")}

    return await run_sync(url, names)


async def test_the_line_index_comes_with_the_upgrade_and_goes_with_the_downgrade(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/line.db"
    await _run(url, "0004_console_timezone")
    assert "ix_ticket_line" not in await _indexes(url)
    await _run(url, "0005_queue_pages")
    assert "ix_ticket_line" in await _indexes(url)
    await _run(url, "0004_console_timezone", down=True)
    assert "ix_ticket_line" not in await _indexes(url)
