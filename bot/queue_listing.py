"""Reading the line for the console: a screenful at a time, and its totals by aggregate.

The waiting line is ordered as the inbox shows it: the languages the advocate speaks
first, then urgent before not, then the longest wait (ties broken by ticket id). A page
ends at a ``PageKey``; the next page starts strictly after it (keyset paging, not an
offset), so a ticket claimed or added between two pages never shifts one out of sight
or shows one twice. Each page is read from index ``ix_ticket_line`` (status, urgent,
created_at, id, language) in at most four short range scans; the totals by language
and urgency are counted from the same index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import col

from bot.db import SessionFactory
from bot.models import Ticket
from bot.states import TicketStatus

PAGE_SIZE = 25
"""Waiting tickets in one screenful of the inbox."""


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """What the console shows for a ticket: metadata only."""

    id: int
    public_alias: str
    channel: str
    language: str
    country: str
    urgent: bool
    status: TicketStatus
    created_at: dt.datetime
    advocate_id: int | None


@dataclass(frozen=True, slots=True)
class PageKey:
    """Where a page of the waiting line ended: the next page starts after it."""

    spoken: bool
    urgent: bool
    created_at: dt.datetime
    id: int


@dataclass(frozen=True, slots=True)
class WaitingPage:
    entries: list[QueueEntry]
    next: PageKey | None
    """Where the next page starts; None when nobody waits after this page."""


@dataclass(frozen=True, slots=True)
class WaitingGroup:
    """People waiting in one language at one priority."""

    language: str
    urgent: bool
    count: int
    oldest: dt.datetime


_Query = Select[*tuple[Any, ...]]
_COLUMNS = (
    Ticket.id,
    Ticket.public_alias,
    Ticket.channel,
    Ticket.language,
    Ticket.country,
    Ticket.urgent,
    Ticket.status,
    Ticket.created_at,
    Ticket.advocate_id,
)


def _listing() -> _Query:
    # Only the columns shown: building full ORM objects cost four times as much.
    return sa_select(*(col(column) for column in _COLUMNS))


def _entry(row: Any) -> QueueEntry:
    return QueueEntry(
        id=row.id or 0,
        public_alias=row.public_alias,
        channel=row.channel,
        language=row.language,
        country=row.country,
        urgent=row.urgent,
        status=TicketStatus(row.status),
        created_at=row.created_at,
        advocate_id=row.advocate_id,
    )


async def _read(sessions: SessionFactory, query: _Query) -> list[QueueEntry]:
    async with sessions() as session:
        connection = await session.connection()
        return [_entry(row) for row in (await connection.execute(query)).all()]


async def open_entries(sessions: SessionFactory, *, include_active: bool) -> list[QueueEntry]:
    """Every open ticket, urgent first, then oldest first (tests and the full-line benchmark)."""
    statuses = [TicketStatus.WAITING, *([TicketStatus.ACTIVE] if include_active else [])]
    return await _read(
        sessions,
        _listing()
        .where(col(Ticket.status).in_(statuses))
        .order_by(col(Ticket.urgent).desc(), col(Ticket.created_at), col(Ticket.id)),
    )


async def waiting_page(
    sessions: SessionFactory,
    *,
    spoken: Collection[str] = (),
    size: int = PAGE_SIZE,
    after: PageKey | None = None,
) -> WaitingPage:
    """Up to ``size`` waiting tickets in inbox order, starting after ``after``."""
    languages = sorted(set(spoken))
    found: list[tuple[bool, QueueEntry]] = []
    for group in (True, False) if languages else (False,):
        for urgent in (True, False):
            wanted = size + 1 - len(found)  # one more than the page: is there a next one?
            if wanted <= 0 or (
                after is not None and _rank(group, urgent) < _rank(after.spoken, after.urgent)
            ):
                continue
            query = (
                _listing()
                .where(col(Ticket.status) == TicketStatus.WAITING)
                .where(col(Ticket.urgent).is_(urgent))
                .order_by(col(Ticket.created_at), col(Ticket.id))
                .limit(wanted)
            )
            if languages:
                speaks = col(Ticket.language).in_(languages)
                query = query.where(speaks if group else ~speaks)
            if after is not None and (group, urgent) == (after.spoken, after.urgent):
                query = query.where(_after(after))
            found.extend((group, entry) for entry in await _read(sessions, query))
    shown = found[:size]
    if len(found) <= size or not shown:
        return WaitingPage([entry for _, entry in shown], None)
    group, last = shown[-1]
    return WaitingPage(
        [entry for _, entry in shown], PageKey(group, last.urgent, last.created_at, last.id)
    )


def _rank(spoken: bool, urgent: bool) -> tuple[bool, bool]:
    """Where a (spoken, urgent) group comes in the line: spoken languages, then urgent, first."""
    return (not spoken, not urgent)


def _after(key: PageKey) -> ColumnElement[bool]:
    moment, ticket = col(Ticket.created_at), col(Ticket.id)
    return or_(moment > key.created_at, and_(moment == key.created_at, ticket > key.id))


async def waiting_summary(sessions: SessionFactory) -> list[WaitingGroup]:
    """How many wait in each language at each priority, and since when: one aggregate."""
    query = (
        sa_select(
            col(Ticket.language),
            col(Ticket.urgent),
            func.count().label("waiting"),
            func.min(col(Ticket.created_at)).label("oldest"),
        )
        .where(col(Ticket.status) == TicketStatus.WAITING)
        .group_by(col(Ticket.language), col(Ticket.urgent))
    )
    async with sessions() as session:
        connection = await session.connection()
        rows = (await connection.execute(query)).all()
    groups = [
        WaitingGroup(language, bool(urgent), int(count), oldest)
        for language, urgent, count, oldest in rows
    ]
    return sorted(groups, key=lambda g: (not g.urgent, g.language))


async def open_chats(
    sessions: SessionFactory, *, advocate_id: int | None = None
) -> list[QueueEntry]:
    """Chats being answered now (one advocate's with ``advocate_id``), oldest first."""
    query = _listing().where(col(Ticket.status) == TicketStatus.ACTIVE)
    if advocate_id is not None:
        query = query.where(col(Ticket.advocate_id) == advocate_id)
    return await _read(sessions, query.order_by(col(Ticket.created_at), col(Ticket.id)))


async def open_entry(sessions: SessionFactory, ticket_id: int) -> QueueEntry | None:
    """One open ticket, or None when it is closed or unknown."""
    query = (
        _listing()
        .where(col(Ticket.id) == ticket_id)
        .where(col(Ticket.status) != TicketStatus.CLOSED)
    )
    found = await _read(sessions, query)
    return found[0] if found else None


async def arrived_since(
    sessions: SessionFactory, newest: int | None, *, limit: int = 20
) -> tuple[list[QueueEntry], int]:
    """Waiting tickets opened after ticket ``newest``, and the newest ticket id now.

    ``newest`` None (a page's first look) reports nothing as arrived.
    """
    async with sessions() as session:
        connection = await session.connection()
        latest = (await connection.execute(sa_select(func.max(col(Ticket.id))))).scalar()
    now_newest = int(latest or 0)
    if newest is None or now_newest <= newest:
        return [], now_newest
    query = (
        _listing()
        .where(col(Ticket.status) == TicketStatus.WAITING)
        .where(col(Ticket.id) > newest)
        .order_by(col(Ticket.id))
        .limit(limit)
    )
    return await _read(sessions, query), now_newest


def waiting_total(groups: Sequence[WaitingGroup]) -> int:
    return sum(group.count for group in groups)
