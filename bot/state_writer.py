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
asyncpg, one round trip. With several workers each turn's version was marked pending by its look
(``bot/coherence.py``); the batch's markers are finalised after the commit, one Redis
round trip per batch, and each turn learns the token its saved state may be cached
under.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

from bot.batches import Batches
from bot.coherence import Versions, Write
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
    marked: Write
    new: bool
    """The turn took this person for new without a read: inserted only if nobody is."""


class Existed(enum.Enum):
    EXISTED = "existed"


EXISTED = Existed.EXISTED
"""The person a turn took for new was already saved: nothing was written for them."""
Saved = str | None | Literal[Existed.EXISTED]
"""The version token to cache the saved state under (None: do not cache), or EXISTED."""


class StateWriter:
    def __init__(self, db: AsyncEngine, versions: Versions | None = None) -> None:
        self._db = db
        self._versions = versions
        sqlite = is_sqlite(str(db.url))
        insert = sqlite_insert if sqlite else postgresql_insert
        # aiosqlite hands every statement to its thread and back through the event loop;
        # a whole batch written by one plain sqlite3 call costs a single hand-off.
        self._sync = create_sync_engine(db.url) if sqlite else None
        # Built once: a statement's ``excluded`` columns are set up anew for each one
        # built, which cost a batch of 32 turns about as much as their upsert.
        upsert = insert(_CONTACTS)
        self._upsert: Executable = upsert.on_conflict_do_update(
            index_elements=[_CONTACTS.c.alias],
            set_={name: upsert.excluded[name] for name in _UPDATED},
        )
        self._remember: Executable = insert(_SEEN).on_conflict_do_nothing()
        self._insert_new: Executable = insert(_CONTACTS).on_conflict_do_nothing()
        self._one_statement = "" if sqlite else _one_statement(db.dialect)
        self._held = HeldConnection(db)
        self._batches = Batches(self._write, name="state-writer")

    async def save(
        self,
        contact: Contact,
        seen: tuple[str, dt.datetime] | None,
        marked: Write,
        *,
        new: bool = False,
    ) -> Saved:
        """Save this person's state (and the message id seen) with whatever else is waiting.

        ``marked`` is the pending marker the turn's look set for this person; ``new``
        says the turn took them for new without a read, so they are inserted only if
        nobody is saved under their alias (else EXISTED, and nothing is written).
        Returns the version token to cache the saved state under (None: do not cache).
        """
        values = contact_values(contact)
        return await self._batches(
            _Write({name: values[name] for name in _COLUMNS}, seen, marked, new)
        )

    async def drain(self) -> None:
        """Let the writer finish what it holds (at shutdown)."""
        await self._batches.drain()
        await self._held.close()
        if self._sync is not None:
            self._sync.dispose()

    async def _write(self, batch: Sequence[_Write]) -> list[Saved]:
        # The last write for each person is the state the database keeps; a turn that
        # took someone for new never supersedes another write of theirs here (it is
        # answered again after a read, as is one whose person was already saved).
        last: dict[str, _Write] = {}
        for write in batch:
            if not (write.new and write.contact["alias"] in last):
                last[write.contact["alias"]] = write
        existed = await self._commit(batch, last)

        def lost(write: _Write) -> bool:
            alias = write.contact["alias"]
            return write.new and (last[alias] is not write or alias in existed)

        if self._versions is None:
            tokens: dict[str, str] = dict.fromkeys(last, "")
        else:
            claims = [write.seen[0] for write in batch if write.seen and not lost(write)]
            # A lost guess's marker stays pending: its turn runs again and finalises it.
            marked = Write.joined(write.marked for write in last.values() if not lost(write))
            tokens = await self._versions.after_write(marked, claims)
        return [
            EXISTED
            if lost(write)
            else tokens.get(write.contact["alias"])
            if last[write.contact["alias"]] is write
            else None
            for write in batch
        ]

    async def _commit(self, batch: Sequence[_Write], last: dict[str, _Write]) -> set[str]:
        """Save each person's last write and every message id; return the people taken
        for new who were already saved (nothing of theirs was written, not even the id).
        """
        if self._sync is not None:
            return await asyncio.to_thread(self._commit_sync, batch, last)
        known = [write.contact for write in last.values() if not write.new]
        new = [write.contact for write in last.values() if write.new]
        # A guess superseded within the batch is lost: its message id is not saved.
        seen = [w for w in batch if w.seen and not (w.new and last[w.contact["alias"]] is not w)]
        arrays = [
            *([contact[name] for contact in known] for name in _COLUMNS),
            *([contact[name] for contact in new] for name in _COLUMNS),
            [write.seen[0] for write in seen if write.seen],
            [write.seen[1] for write in seen if write.seen],
            # A guess's message id is saved only with its person (see _one_statement).
            [write.contact["alias"] if write.new else None for write in seen],
        ]
        sql = self._one_statement
        rows = await self._held.run(sql, lambda connection: connection.fetch(sql, *arrays))
        return {contact["alias"] for contact in new} - {row[0] for row in rows}

    def _commit_sync(self, batch: Sequence[_Write], last: dict[str, _Write]) -> set[str]:
        assert self._sync is not None
        known = [write.contact for write in last.values() if not write.new]
        new = [write.contact for write in last.values() if write.new]
        inserted: set[str] = set()
        with self._sync.begin() as connection:
            if known:
                connection.execute(self._upsert, known)
            for contact in new:
                if connection.execute(self._insert_new, contact).rowcount == 1:
                    inserted.add(contact["alias"])
            seen = [
                {"key": write.seen[0], "expires_at": write.seen[1]}
                for write in batch
                if write.seen
                and (
                    not write.new
                    or (
                        last[write.contact["alias"]] is write and write.contact["alias"] in inserted
                    )
                )
            ]
            if seen:
                connection.execute(self._remember, seen)
        return {contact["alias"] for contact in new} - inserted


def _one_statement(dialect: Dialect) -> str:
    """The batch's commit on PostgreSQL as one statement, so one round trip.

    Every column arrives as one array (``unnest``): first the people known (an upsert),
    then the people taken for new (inserted only where nobody is; the statement returns
    those inserted). The message ids are saved by a data-modifying ``WITH``, in the same
    statement and so the same transaction, except the id of a person wrongly taken for
    new. Through a transaction of its own the commit took four round trips (begin, the
    two statements, commit).
    """

    def arrays(first: int) -> str:
        return ", ".join(
            f"${first + index}::{column.type.compile(dialect)}[]"
            for index, column in enumerate(_CONTACTS.columns)
        )

    columns = ", ".join(_COLUMNS)
    updates = ", ".join(f"{name} = excluded.{name}" for name in _UPDATED)
    seen_from = 2 * len(_COLUMNS) + 1
    key, expires = (column.type.compile(dialect) for column in _SEEN.columns)
    alias = _CONTACTS.c.alias.type.compile(dialect)
    # Names from our own tables only; every value goes in as a parameter.
    return (
        f"WITH known AS (INSERT INTO {_CONTACTS.name} ({columns})"  # noqa: S608
        f" SELECT * FROM unnest({arrays(1)}) ON CONFLICT (alias) DO UPDATE SET {updates}),"
        f" new AS (INSERT INTO {_CONTACTS.name} ({columns})"
        f" SELECT * FROM unnest({arrays(len(_COLUMNS) + 1)})"
        " ON CONFLICT DO NOTHING RETURNING alias),"
        f" seen AS (INSERT INTO {_SEEN.name} ({', '.join(c.name for c in _SEEN.columns)})"
        f" SELECT id, expires FROM unnest(${seen_from}::{key}[], ${seen_from + 1}::{expires}[],"
        f" ${seen_from + 2}::{alias}[]) AS saved(id, expires, fresh)"
        " WHERE fresh IS NULL OR fresh IN (SELECT alias FROM new) ON CONFLICT DO NOTHING)"
        " SELECT alias FROM new"
    )
