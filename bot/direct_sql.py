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

A failure of the driver is what SQLAlchemy would have raised: the connection is
invalidated (so the pool never hands it out again) and ``OperationalError`` goes up,
without the statement's parameters, so the webhook gets 503 and the carrier delivers
again (``bot.faults``). Everything else still goes through SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement


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


@asynccontextmanager
async def driver(db: AsyncEngine, statement: str) -> AsyncIterator[Any]:
    """An asyncpg connection from the pool; a failure in the block is ``OperationalError``."""
    async with db.connect() as connection:
        raw = await connection.get_raw_connection()
        try:
            yield raw.driver_connection
        except Exception as error:
            await connection.invalidate()
            raise OperationalError(statement, None, error) from None
