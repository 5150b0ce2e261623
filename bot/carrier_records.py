"""The message records still to delete at the carrier, kept in the database.

Each row is one Twilio message id, when it was queued and when a worker last claimed
it (``claimed_at``). A worker that holds a record in memory claims it when it writes
it and again every sweep; at a graceful stop it releases what it could not delete
(``claimed_at`` NULL). The take-over rule follows from that: a row released, or not
claimed for ``TAKE_OVER_AFTER``, has nobody working on it (its worker stopped, was
killed or lost the database that long), so any worker may take it, and taking it
stamps it in the same statement, so two workers never take one row at once.

Every function takes the caller's session and commits nothing: one transaction per
batch is the caller's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Mapping, Sequence
from itertools import islice

from sqlalchemy import ColumnElement, func, or_, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import CarrierRecord

TAKE_OVER_AFTER = dt.timedelta(minutes=5)
"""A claim not renewed for this long is abandoned (workers renew theirs every minute)."""
CHUNK = 300
"""Ids per ``IN (…)``: well under SQLite's 999 bound parameters."""


async def save(
    session: AsyncSession, *, queued: Mapping[str, dt.datetime], now: dt.datetime
) -> None:
    """Write records this worker holds, claimed by it; a row already there is left as is."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        # One statement, one round trip, whatever the batch: each column as one array.
        connection = await session.connection()
        await connection.execute(
            _SAVE_ARRAYS, {"sids": list(queued), "queued": list(queued.values()), "now": now}
        )
        return
    rows = [{"sid": sid, "queued_at": at, "claimed_at": now} for sid, at in queued.items()]
    # Compiled once (cached); SQLAlchemy sends the rows as multi-row VALUES.
    await session.exec(sqlite_insert(CarrierRecord).on_conflict_do_nothing(), params=rows)


_SAVE_ARRAYS = text(
    "INSERT INTO carrier_record (sid, queued_at, claimed_at)"
    " SELECT sid, queued_at, CAST(:now AS timestamptz) FROM unnest(CAST(:sids AS varchar[]),"
    " CAST(:queued AS timestamptz[])) AS batch (sid, queued_at)"
    " ON CONFLICT DO NOTHING"
)


async def remove(session: AsyncSession, *, sids: Collection[str]) -> None:
    """Forget records Twilio no longer has."""
    for chunk in _chunks(sids):
        await session.exec(delete(CarrierRecord).where(col(CarrierRecord.sid).in_(chunk)))


async def renew(session: AsyncSession, *, sids: Collection[str], now: dt.datetime) -> None:
    """Say again that this worker is deleting these records, so nobody takes them over."""
    await _claim(session, sids=sids, at=now)


async def release(session: AsyncSession, *, sids: Collection[str]) -> None:
    """Leave these records to whichever worker sweeps next (this one is stopping)."""
    await _claim(session, sids=sids, at=None)


async def take_over(
    session: AsyncSession, *, now: dt.datetime, limit: int, after: dt.timedelta = TAKE_OVER_AFTER
) -> list[str]:
    """Claim up to ``limit`` records nobody is working on, oldest first; return their ids.

    The condition is checked again on each row as it is updated: on PostgreSQL a row a
    concurrent sweep has just claimed no longer matches (and ``SKIP LOCKED`` passes over
    rows another sweep is claiming right now); SQLite runs one writer at a time.
    """
    abandoned = _abandoned(now - after)
    candidates = (
        select(CarrierRecord.sid)
        .where(abandoned)
        .order_by(col(CarrierRecord.queued_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(CarrierRecord)
        .where(col(CarrierRecord.sid).in_(candidates.scalar_subquery()), abandoned)
        .values(claimed_at=now)
        .returning(col(CarrierRecord.sid))
    )
    return list((await session.exec(statement)).scalars())


async def waiting(session: AsyncSession) -> int:
    """How many records are still to delete (for operators and tests; never their ids)."""
    return (await session.exec(select(func.count()).select_from(CarrierRecord))).one()


def _abandoned(cutoff: dt.datetime) -> ColumnElement[bool]:
    claimed = col(CarrierRecord.claimed_at)
    return or_(claimed.is_(None), claimed < cutoff)


async def _claim(session: AsyncSession, *, sids: Collection[str], at: dt.datetime | None) -> None:
    for chunk in _chunks(sids):
        await session.exec(
            update(CarrierRecord).where(col(CarrierRecord.sid).in_(chunk)).values(claimed_at=at)
        )


def _chunks(sids: Collection[str]) -> Iterator[Sequence[str]]:
    each = iter(sids)
    while chunk := list(islice(each, CHUNK)):
        yield chunk
