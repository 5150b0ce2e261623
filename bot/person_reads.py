"""A person's saved state by alias: the one read a turn may need, at the driver's speed.

With several workers on PostgreSQL no worker's cache is complete, so a person this
worker has not met (every newcomer) costs one read of one row by primary key. Through
SQLAlchemy's asyncpg adapter and the ORM that read cost about 420 µs of a worker's CPU;
asyncpg's own ``fetchrow`` on a connection from the same pool about 150 µs (2,000
reads each, 2026-11-30). A py-spy profile of a PostgreSQL worker under the SMS burst
put the ORM read at a quarter of the worker's event loop. The row becomes a
``Contact`` with ``contact_of``, exactly as the contact cache builds one.

A failure of the driver is what SQLAlchemy would have raised: the connection is
invalidated and ``OperationalError`` goes up, so the webhook gets 503 and the carrier
delivers it again (``bot.faults``). The statement's parameters are never in it.

SQLite keeps the ORM read: its single worker holds everyone in memory and reads only
for people who hold a ticket.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import SessionFactory, is_sqlite
from bot.models import Contact, contact_of

_TABLE: Table = Contact.__table__  # type: ignore[attr-defined]
_SELECT = str(
    select(_TABLE).where(_TABLE.c.alias == bindparam("alias")).compile(dialect=asyncpg.dialect())  # type: ignore[no-untyped-call]
)
"""Written by SQLAlchemy once, in asyncpg's own parameter style (``$1``)."""


class PersonReads:
    def __init__(self, sessions: SessionFactory, db: AsyncEngine | None = None) -> None:
        """``sessions`` read through the ORM; ``db``, if PostgreSQL, reads directly."""
        self._direct = None if db is None or is_sqlite(str(db.url)) else db
        self._sessions = sessions
        self._decoders = _decoders(self._direct.dialect) if self._direct is not None else {}

    async def contact(self, alias: str) -> Contact | None:
        """The saved state of ``alias``, or None when the database holds no such person."""
        if self._direct is None:
            async with self._sessions() as session:
                return await session.get(Contact, alias)
        async with self._direct.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            try:
                row = await driver.fetchrow(_SELECT, alias)
            except Exception as error:
                await connection.invalidate()
                raise OperationalError(_SELECT, None, error) from None
        if row is None:
            return None
        values = dict(row)
        for name, decode in self._decoders.items():
            values[name] = decode(values[name])
        return contact_of(values)


def _decoders(dialect: Dialect) -> dict[str, Callable[[Any], Any]]:
    """Each column's own result conversion (times come back in UTC), as the ORM applies it."""
    decoders = {
        column.name: column.type.result_processor(dialect, None) for column in _TABLE.columns
    }
    return {name: decode for name, decode in decoders.items() if decode is not None}
