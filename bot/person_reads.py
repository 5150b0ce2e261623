"""A person's saved state by alias: the one read a turn may need, at the driver's speed.

With several workers on PostgreSQL no worker's cache is complete, so a person this
worker has not met (every newcomer) costs one read of one row by primary key. Through
SQLAlchemy's asyncpg adapter and the ORM that read cost about 420 µs of a worker's CPU;
with asyncpg's own ``fetchrow`` (``bot/direct_sql.py``) about 150 µs. A py-spy profile
of a PostgreSQL worker under the SMS burst put the ORM read at a quarter of the
worker's event loop. The row becomes a ``Contact`` with ``contact_of``, exactly as the
contact cache builds one.

Reads that wait at the same time go as one (``bot/batches.py``): a read through the
pool cost about 176 µs of CPU, nearly all of it the checkout and the round trip, so
every newcomer arriving while a read is away shares the next one: the read by
primary key, run once per alias in one round trip (asyncpg's ``fetchmany``). One
statement with ``alias = ANY(…)`` instead made PostgreSQL plan it anew at every call
(its generic plan looks costlier than each custom one) and cost the server a third
more CPU per message.

On SQLite the single worker holds everyone in memory and reads only for people who
hold a ticket: the person in a live chat, and an advocate's message on its way to them.
Those reads are one hand-off to a thread each (``bot/plain_reads.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import sqlmodel
from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.batches import Batches
from bot.db import SessionFactory, is_sqlite
from bot.direct_sql import Compiled, HeldConnection
from bot.models import Contact, contact_of
from bot.plain_reads import PlainReads

_TABLE: Table = Contact.__table__  # type: ignore[attr-defined]


class PersonReads:
    def __init__(self, sessions: SessionFactory, db: AsyncEngine | None = None) -> None:
        """``sessions`` read through the ORM; ``db``, if PostgreSQL, reads directly."""
        self._direct = None if db is None or is_sqlite(str(db.url)) else db
        self._sessions = sessions
        self.plain = PlainReads(db) if db is not None and self._direct is None else None
        """SQLite: every read in one hand-off to a thread (``bot/plain_reads.py``)."""
        if self._direct is not None:
            by_alias = select(_TABLE).where(_TABLE.c.alias == bindparam("alias"))
            self._select = Compiled(by_alias, _TABLE, self._direct.dialect)
            self._batches = Batches(self._read_all, name="person-reads")
            self._held = HeldConnection(self._direct)

    async def contact(self, alias: str) -> Contact | None:
        """The saved state of ``alias``, or None when the database holds no such person."""
        if self.plain is not None:
            found = await self._read_plain((alias,))
            return found[0] if found else None
        if self._direct is None:
            async with self._sessions() as session:
                return await session.get(Contact, alias)
        return await self._batches(alias)

    async def contacts(self, aliases: Sequence[str]) -> list[Contact]:
        """The saved states of ``aliases`` that exist, in their order, in one read: one
        session on SQLite (a session costs several trips to its thread, each a turn of a
        busy event loop), one batch on PostgreSQL."""
        if self.plain is not None:
            return await self._read_plain(aliases)
        if self._direct is None:
            async with self._sessions() as session:
                by_aliases = sqlmodel.select(Contact).where(
                    sqlmodel.col(Contact.alias).in_(aliases)
                )
                found = {contact.alias: contact for contact in await session.exec(by_aliases)}
            return [found[alias] for alias in aliases if alias in found]
        read = await asyncio.gather(*(self._batches(alias) for alias in aliases))
        return [contact for contact in read if contact is not None]

    async def _read_plain(self, aliases: Sequence[str]) -> list[Contact]:
        assert self.plain is not None
        rows = await self.plain.rows(select(_TABLE).where(_TABLE.c.alias.in_(aliases)))
        found = {row["alias"]: contact_of(row) for row in rows}
        return [found[alias] for alias in aliases if alias in found]

    async def close(self) -> None:
        """Let go of the held connection (at shutdown)."""
        if self.plain is not None:
            self.plain.close()
        if self._direct is not None:
            await self._batches.drain()
            await self._held.close()

    async def _read_all(self, aliases: Sequence[str]) -> list[Contact | None]:
        assert self._direct is not None
        sql, each = self._select.sql, [(alias,) for alias in set(aliases)]
        rows = await self._held.run(sql, lambda connection: connection.fetchmany(sql, each))
        found = {row["alias"]: row for row in rows}
        return [
            None if (row := found.get(alias)) is None else contact_of(self._select.row(row))
            for alias in aliases
        ]
