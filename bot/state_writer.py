"""Group commit for person state: many turns' writes, one transaction.

Most messages only move a person through the menus: their new state and the
provider's message id must be saved before the reply goes out, but each needs no
transaction of its own. Concurrent turns hand their rows here and wait; a writer
task commits everything that has gathered in one transaction, then wakes them all
(``bot/batches.py``).
A reply still leaves only after its state is saved, and a failed commit fails every
turn in it, so the carrier redelivers and nothing is lost.

On SQLite the batch is one transaction through a plain sqlite3 call; on PostgreSQL one
statement (``INSERT … ON CONFLICT`` from arrays, the message ids in a ``WITH``) through
asyncpg, one round trip. With several workers the batch's versions are marked before the commit
and finalised after it, two Redis round trips per batch (``bot/coherence.py``); each
turn learns the token its saved state may be cached under.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.sqlite import Insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.batches import Batches
from bot.coherence import Versions
from bot.db import create_sync_engine, is_sqlite
from bot.direct_sql import HeldConnection
from bot.models import Contact, SeenMessage, contact_values

_CONTACTS = Contact.__table__  # type: ignore[attr-defined]
_SEEN = SeenMessage.__table__  # type: ignore[attr-defined]
_COLUMNS = tuple(column.name for column in _CONTACTS.columns)
_UPDATED = tuple(name for name in _COLUMNS if name not in ("alias", "opted_out"))
"""A turn never changes the opt-out; a STOP recorded meanwhile must not be undone."""


@dataclass(frozen=True, slots=True)
class _Write:
    contact: dict[str, Any]
    seen: tuple[str, dt.datetime] | None


class StateWriter:
    def __init__(self, db: AsyncEngine, versions: Versions | None = None) -> None:
        self._db = db
        self._versions = versions
        sqlite = is_sqlite(str(db.url))
        # aiosqlite hands every statement to its thread and back through the event loop;
        # a whole batch written by one plain sqlite3 call costs a single hand-off.
        self._sync = create_sync_engine(db.url) if sqlite else None
        self._plain = _PlainBatch(self._sync.dialect) if self._sync is not None else None
        self._one_statement = "" if sqlite else _one_statement(db.dialect)
        self._held = HeldConnection(db)
        self._batches = Batches(self._write, name="state-writer")

    async def save(self, contact: Contact, seen: tuple[str, dt.datetime] | None) -> str | None:
        """Save this person's state (and the message id seen) with whatever else is waiting.

        Returns the version token to cache the saved state under (None: do not cache).
        """
        values = contact_values(contact)
        return await self._batches(_Write({name: values[name] for name in _COLUMNS}, seen))

    async def drain(self) -> None:
        """Let the writer finish what it holds (at shutdown)."""
        await self._batches.drain()
        await self._held.close()
        if self._sync is not None:
            self._sync.dispose()

    async def _write(self, batch: Sequence[_Write]) -> list[str | None]:
        # The last write for each person is the state the database keeps.
        last = {write.contact["alias"]: write for write in batch}
        if self._versions is None:
            await self._commit(batch)
            tokens: dict[str, str] = dict.fromkeys(last, "")
        else:
            marks = await self._versions.before_write(list(last))
            await self._commit(batch)
            claims = [write.seen[0] for write in batch if write.seen]
            tokens = await self._versions.after_write(marks, claims)
        return [
            tokens.get(write.contact["alias"]) if last[write.contact["alias"]] is write else None
            for write in batch
        ]

    async def _commit(self, batch: Sequence[_Write]) -> None:
        # One row per person: if someone wrote twice in a batch, the later state wins.
        contacts = list({write.contact["alias"]: write.contact for write in batch}.values())
        seen = [{"key": w.seen[0], "expires_at": w.seen[1]} for w in batch if w.seen]
        if self._plain is not None:
            await asyncio.to_thread(self._commit_sync, contacts, seen)
            return
        columns = [[contact[name] for contact in contacts] for name in _COLUMNS]
        ids = [[row["key"] for row in seen], [row["expires_at"] for row in seen]]
        sql = self._one_statement
        await self._held.run(sql, lambda connection: connection.execute(sql, *columns, *ids))

    def _commit_sync(self, contacts: list[dict[str, Any]], seen: list[dict[str, Any]]) -> None:
        assert self._sync is not None and self._plain is not None
        connection = self._sync.raw_connection()
        try:
            assert isinstance(connection.driver_connection, sqlite3.Connection)
            self._plain.write(connection.driver_connection, contacts, seen)
        finally:
            connection.close()  # back to the pool, which rolls back what was not committed


class _PlainBatch:
    """The SQLite batch as SQL text compiled once and rows of values for the driver.

    ``Connection.execute`` with a statement and a list of dicts compiles from its cache,
    then builds each row's parameters through every column's bind processor and an
    execution context; in a SQLite worker under the SMS benchmark that was a fifth of
    the writer thread's time, which it spends holding the interpreter lock the event
    loop waits for. The rows go to the driver as tuples instead, each value through the
    same bind processor SQLAlchemy would apply (a datetime becomes the same text), and
    only for the columns whose type has one.

    The batch then goes to ``sqlite3`` itself, in one transaction: SQLAlchemy's
    ``begin``, execution context and commit around two ``executemany`` calls were
    another tenth of the worker's samples. A driver error becomes the SQLAlchemy error
    it would have been (``DBAPIError.instance``: locked is ``OperationalError``, so the
    webhook answers 503), without the statement's parameters."""

    def __init__(self, dialect: Dialect) -> None:
        self._upsert, self._contact_values = _plain(_upsert_statement(), dialect)
        self._remember, self._seen_values = _plain(
            sqlite_insert(_SEEN).on_conflict_do_nothing(), dialect
        )

    def write(
        self,
        connection: sqlite3.Connection,
        contacts: list[dict[str, Any]],
        seen: list[dict[str, Any]],
    ) -> None:
        """Commit both statements in one transaction, or neither."""
        statement = self._upsert
        try:
            with connection:  # commits, or rolls back on an error
                connection.executemany(statement, self._contact_values(contacts))
                if seen:
                    statement = self._remember
                    connection.executemany(statement, self._seen_values(seen))
        except sqlite3.Error as error:
            raise DBAPIError.instance(
                statement, None, error, sqlite3.Error, hide_parameters=True
            ) from None


def _plain(
    statement: Insert, dialect: Dialect
) -> tuple[str, Callable[[list[dict[str, Any]]], list[tuple[Any, ...]]]]:
    """The statement's SQL text, and what turns rows of named values into its parameters."""
    compiled = statement.compile(dialect=dialect)
    names = compiled.positiontup
    assert names is not None, "SQLite's paramstyle is positional"
    types = [compiled.binds[name].type.dialect_impl(dialect) for name in names]
    processors = [kind.bind_processor(dialect) for kind in types]
    convert = [(index, process) for index, process in enumerate(processors) if process is not None]

    def parameters(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        prepared = []
        for row in rows:
            values = [row[name] for name in names]
            for index, process in convert:
                values[index] = process(values[index])
            prepared.append(tuple(values))
        return prepared

    return compiled.string, parameters


def _upsert_statement() -> Insert:
    """A person's row written whole, or updated but for the opt-out if it is there."""
    upsert = sqlite_insert(_CONTACTS)
    return upsert.on_conflict_do_update(
        index_elements=[_CONTACTS.c.alias],
        set_={name: upsert.excluded[name] for name in _UPDATED},
    )


def _one_statement(dialect: Dialect) -> str:
    """The batch's commit on PostgreSQL as one statement, so one round trip.

    Every column arrives as one array (``unnest``); the message ids are saved by a
    data-modifying ``WITH``, in the same statement and so the same transaction. Through
    a transaction of its own the commit took four round trips (begin, the two
    statements, commit).
    """

    def arrays(table: Table, first: int) -> str:
        return ", ".join(
            f"${first + index}::{column.type.compile(dialect)}[]"
            for index, column in enumerate(table.columns)
        )

    updates = ", ".join(f"{name} = excluded.{name}" for name in _UPDATED)
    seen_from = len(_COLUMNS) + 1
    # Names from our own tables only; every value goes in as a parameter.
    return (
        f"WITH seen AS (INSERT INTO {_SEEN.name} ({', '.join(c.name for c in _SEEN.columns)})"  # noqa: S608
        f" SELECT * FROM unnest({arrays(_SEEN, seen_from)}) ON CONFLICT DO NOTHING)"
        f" INSERT INTO {_CONTACTS.name} ({', '.join(_COLUMNS)})"
        f" SELECT * FROM unnest({arrays(_CONTACTS, 1)})"
        f" ON CONFLICT (alias) DO UPDATE SET {updates}"
    )
