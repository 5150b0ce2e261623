"""A person's saved state by alias: the one read a turn may need, at the driver's speed.

With several workers on PostgreSQL no worker's cache is complete, so a person this
worker has not met (every newcomer) costs one read of one row by primary key. Through
SQLAlchemy's asyncpg adapter and the ORM that read cost about 420 µs of a worker's CPU;
with asyncpg's own ``fetchrow`` (``bot/direct_sql.py``) about 150 µs. A py-spy profile
of a PostgreSQL worker under the SMS burst put the ORM read at a quarter of the
worker's event loop. The row becomes a ``Contact`` with ``contact_of``, exactly as the
contact cache builds one.

SQLite keeps the ORM read: its single worker holds everyone in memory and reads only
for people who hold a ticket.
"""

from __future__ import annotations

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import SessionFactory, is_sqlite
from bot.direct_sql import Compiled, driver
from bot.models import Contact, contact_of

_TABLE: Table = Contact.__table__  # type: ignore[attr-defined]


class PersonReads:
    def __init__(self, sessions: SessionFactory, db: AsyncEngine | None = None) -> None:
        """``sessions`` read through the ORM; ``db``, if PostgreSQL, reads directly."""
        self._direct = None if db is None or is_sqlite(str(db.url)) else db
        self._sessions = sessions
        if self._direct is not None:
            by_alias = select(_TABLE).where(_TABLE.c.alias == bindparam("alias"))
            self._select = Compiled(by_alias, _TABLE, self._direct.dialect)

    async def contact(self, alias: str) -> Contact | None:
        """The saved state of ``alias``, or None when the database holds no such person."""
        if self._direct is None:
            async with self._sessions() as session:
                return await session.get(Contact, alias)
        async with driver(self._direct, self._select.sql) as connection:
            row = await connection.fetchrow(self._select.sql, alias)
        return None if row is None else contact_of(self._select.row(row))
