"""asyncpg's own calls, on connections from SQLAlchemy's pool, for a turn's read and write.

Through SQLAlchemy's asyncpg adapter one statement cost a PostgreSQL worker about
300 µs of CPU more than asyncpg's own call (a read by primary key: ~420 against
~150 µs, 2,000 each, 2026-11-30): the adapter's cursor emulation, result processing and
the greenlet hand-off. The read of a person's state (``bot/person_reads.py``) is made
for every newcomer with several workers, so it is written by SQLAlchemy once
(``Compiled``: SQL in asyncpg's ``$n`` style, and each column's own conversions of
values coming out) and run with asyncpg directly. The group commit runs here too, as
one statement in one round trip (``bot/state_writer.py``): the same batch through
SQLAlchemy's transaction took four.

Each keeps one connection from the pool (``HeldConnection``). A failure of the
driver is what SQLAlchemy would have raised: the connection is
invalidated (so the pool never hands it out again) and ``OperationalError`` goes up,
without the statement's parameters, so the webhook gets 503 and the carrier delivers
again (``bot.faults``). Everything else still goes through SQLAlchemy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import ClauseElement

T = TypeVar("T")


class Compiled:
    """One statement as asyncpg runs it, and the table's conversions of the rows it returns.

    Its parameters go in as they are: the one statement here takes an alias, a string
    that no column type converts."""

    def __init__(self, statement: ClauseElement, table: Table, dialect: Dialect) -> None:
        self.sql = str(statement.compile(dialect=dialect))
        results = {
            column.name: column.type.result_processor(dialect, None) for column in table.columns
        }
        self._out = {name: convert for name, convert in results.items() if convert is not None}

    def row(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A returned row by column name, converted as SQLAlchemy would."""
        values = dict(record)
        for name, convert in self._out.items():
            if name in values:
                values[name] = convert(values[name])
        return values


class HeldConnection:
    """One pooled connection kept by a task that runs one statement at a time.

    The person reads and the group commit each run one batch at a time
    (``bot/batches.py``), so each keeps one connection from the pool for as long as
    the worker runs: a checkout and return cost about 59 µs of CPU, as much as the
    statement's own round trip (2026-11-30). A failure of the driver invalidates the
    connection (the pool never hands it out again) and the next statement checks out
    a fresh one (``run``).
    """

    def __init__(self, db: AsyncEngine) -> None:
        self._db = db
        self._connection: AsyncConnection | None = None

    async def run(self, statement: str, call: Callable[[Any], Awaitable[T]]) -> T:
        """``call`` with the asyncpg connection; a failure is ``OperationalError``.

        A held connection that fails (the server restarted since it was made, say) is
        let go and the call made once more on a fresh one, as a checkout from the pool
        would have been fresh after the pool noticed the restart. A time-out is not
        repeated. Both statements here may run twice: a read, and an upsert of the same
        rows.
        """
        while True:
            fresh = self._connection is None
            try:
                if self._connection is None:
                    self._connection = await self._db.connect()
                raw = await self._connection.get_raw_connection()
                return await call(raw.driver_connection)
            except Exception as error:
                await self._let_go(invalidate=True)
                if fresh or isinstance(error, TimeoutError):
                    raise OperationalError(statement, None, error) from None

    async def close(self) -> None:
        """Return the connection to the pool (at shutdown)."""
        await self._let_go(invalidate=False)

    async def _let_go(self, *, invalidate: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if invalidate:
            with contextlib.suppress(Exception):
                await connection.invalidate()
        with contextlib.suppress(Exception):
            await connection.close()
