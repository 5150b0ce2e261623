"""SQLite reads on the live path in one hand-off to a thread.

Through aiosqlite a session's read of one row is several hand-offs to the
connection's thread (checkout, BEGIN, the statement, each fetch, ROLLBACK), and each
hand-off back waits for a turn of the event loop. Under a burst of menu traffic that
loop is busy: an advocate's message waited 9–12 ms at the median for its ticket and
21–27 ms for the person's two rows (2026-12-01, ``docs/benchmarks.md``, step eight).
A plain ``sqlite3`` connection run by ``asyncio.to_thread`` makes the whole read one
hand-off, as the group commit does for its writes (``bot/state_writer.py``).

Only for reads that a live chat waits on (``bot/person_reads.py``, the ticket an
advocate writes on in ``bot/queue.py``). PostgreSQL has a driver of its own for the
hot reads (``bot/direct_sql.py``); everything else reads through sessions.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import create_sync_engine


class PlainReads:
    """Reads of whole rows of one table, each in one hand-off to a thread."""

    def __init__(self, db: AsyncEngine) -> None:
        self.engine: Engine = create_sync_engine(db.url)
        """The plain engine the reads go through (its events show every statement)."""

    async def rows(self, statement: Select[Any]) -> list[dict[str, Any]]:
        """Every row ``statement`` selects, by column name, with SQLAlchemy's conversions."""
        return await asyncio.to_thread(self._rows, statement)

    def close(self) -> None:
        self.engine.dispose()

    def _rows(self, statement: Select[Any]) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            return [row._asdict() for row in connection.execute(statement)]
