"""Retention: forget on schedule what the help line no longer needs.

Windows (settings): person state 24 hours after the last message, closed-ticket
metadata 30 days, the console audit log 90 days. Alias keys go once their period and
the person window have passed, so what remains can no longer be linked to a number.
A ticket still open past the person window is closed silently (the help line never
writes after a session is over) and its reply address erased.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, text
from sqlmodel import SQLModel, col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.console.auth import SESSION_LIFETIME
from bot.db import is_sqlite, transaction
from bot.models import (
    AuditEvent,
    ChatMessageId,
    ConsoleSession,
    Contact,
    DailyCount,
    SeenMessage,
    Ticket,
)
from bot.relay import ticket_topic
from bot.states import TicketStatus

if TYPE_CHECKING:
    from bot.helpline import Helpline
    from bot.settings import Settings

log = logging.getLogger(__name__)

CHAT_MESSAGE_ID_WINDOW = dt.timedelta(hours=48)
"""Telegram lets a bot delete messages for 48 hours; after that the ids are useless."""

_TABLES = (
    "contact",
    "seen_message",
    "chat_message_id",
    "ticket",
    "audit_event",
    "alias_key",
    "console_session",
)


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """How many rows of each kind were removed (or, for open tickets, closed)."""

    contacts: int = 0
    seen_messages: int = 0
    chat_message_ids: int = 0
    tickets_closed: int = 0
    tickets: int = 0
    audit_events: int = 0
    alias_keys: int = 0
    console_sessions: int = 0

    @property
    def total(self) -> int:
        return sum(astuple(self))


async def purge(helpline: Helpline, now: dt.datetime | None = None) -> PurgeReport:
    """Apply every retention window at ``now`` (the help line's clock by default)."""
    now = now or helpline.clock()
    settings = helpline.settings
    person_cutoff = now - dt.timedelta(hours=settings.retention_person_hours)
    async with transaction(helpline.sessions) as session:
        tickets_closed = await _close_stale_tickets(session, person_cutoff, now)
        contacts = await _delete(session, Contact, col(Contact.last_seen) < person_cutoff)
        seen = await _delete(session, SeenMessage, col(SeenMessage.expires_at) < now)
        chat_ids = await _delete(
            session, ChatMessageId, col(ChatMessageId.sent_at) < now - CHAT_MESSAGE_ID_WINDOW
        )
        tickets = await _delete_old_tickets(
            session, now - dt.timedelta(days=settings.retention_ticket_days)
        )
        audit = await _delete(
            session,
            AuditEvent,
            col(AuditEvent.at) < now - dt.timedelta(days=settings.retention_audit_days),
        )
        # A key is needed while state under its aliases may still exist: until its
        # period has ended and the person window has passed since.
        keys = await helpline.aliases.destroy_before(session, helpline.aliases.epoch(person_cutoff))
        console_sessions = await _delete(
            session,
            ConsoleSession,
            col(ConsoleSession.revoked_at).is_not(None)
            | (col(ConsoleSession.created_at) < now - SESSION_LIFETIME),
        )
    report = PurgeReport(
        contacts, seen, chat_ids, len(tickets_closed), tickets, audit, keys, console_sessions
    )
    if report.total:
        await _reclaim(helpline)
    log.info(
        "purge contacts=%s seen=%s chat_ids=%s tickets_closed=%s tickets=%s audit=%s keys=%s"
        " console_sessions=%s",
        *astuple(report),
    )
    for ticket_id in tickets_closed:
        await helpline.relay.publish(ticket_topic(ticket_id), {"type": "closed"})
    if tickets_closed:
        await helpline.queue.announce()
    return report


async def purge_now(settings: Settings) -> int:
    """Run the purge once for ``helpline purge``; print counts only."""
    from bot.helpline import build_helpline

    helpline = build_helpline(settings)
    try:
        report = await purge(helpline)
    finally:
        await helpline.db.dispose()
    for name, count in zip(PurgeReport.__slots__, astuple(report), strict=True):
        print(f"{name.replace('_', ' ')}: {count}")
    return 0


async def _delete(
    session: AsyncSession, model: type[SQLModel], condition: ColumnElement[bool]
) -> int:
    result = await session.exec(delete(model).where(condition))
    return int(getattr(result, "rowcount", 0) or 0)


async def _close_stale_tickets(
    session: AsyncSession, person_cutoff: dt.datetime, now: dt.datetime
) -> list[int]:
    """Close open tickets nobody has written on within the person window; erase addresses."""
    rows = (
        await session.exec(
            select(Ticket)
            .where(Ticket.status != TicketStatus.CLOSED)
            .where(col(Ticket.created_at) < person_cutoff)
        )
    ).all()
    closed: list[int] = []
    for ticket in rows:
        contact = await session.get(Contact, ticket.contact_alias) if ticket.contact_alias else None
        if contact is not None and contact.last_seen >= person_cutoff:
            continue  # the person is still writing: the ticket is alive
        ticket.status = TicketStatus.CLOSED
        ticket.closed_at = now
        ticket.outcomes = "expired"
        ticket.address_ciphertext = None
        ticket.contact_alias = None
        session.add(ticket)
        if contact is not None:
            contact.ticket_id = None
            session.add(contact)
        closed.append(ticket.id or 0)
    # Belt and braces: a closed ticket never keeps an address or a link to a contact.
    leftovers = (
        await session.exec(
            select(Ticket)
            .where(Ticket.status == TicketStatus.CLOSED)
            .where(
                col(Ticket.address_ciphertext).is_not(None) | col(Ticket.contact_alias).is_not(None)
            )
        )
    ).all()
    for ticket in leftovers:
        ticket.address_ciphertext = None
        ticket.contact_alias = None
        session.add(ticket)
    if rows or leftovers:
        await session.flush()
    return closed


async def _delete_old_tickets(session: AsyncSession, cutoff: dt.datetime) -> int:
    """Delete closed tickets past the window, keeping their outcomes as daily counts."""
    rows = (
        await session.exec(
            select(Ticket)
            .where(Ticket.status == TicketStatus.CLOSED)
            .where(col(Ticket.closed_at) < cutoff)
        )
    ).all()
    outcomes: Counter[tuple[dt.date, str, str, str]] = Counter()
    for ticket in rows:
        assert ticket.closed_at is not None
        for code in filter(None, ticket.outcomes.split(",")):
            outcomes[(ticket.closed_at.date(), ticket.channel, ticket.language, code)] += 1
        await session.delete(ticket)
    for (day, channel, language, code), n in outcomes.items():
        metric = f"outcome:{code}"
        row = await session.get(DailyCount, (day, channel, language, "", metric))
        if row is None:
            row = DailyCount(day=day, channel=channel, language=language, metric=metric)
        row.count += n
        session.add(row)
    return len(rows)


async def _reclaim(helpline: Helpline) -> None:
    """Make deleted rows physically go: the SQLite WAL and PostgreSQL dead tuples."""
    autocommit = helpline.db.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as connection:
        if is_sqlite(helpline.settings.database_url):
            # secure_delete zeroes freed pages; truncating the WAL drops old page images.
            await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        else:
            for table in _TABLES:
                await connection.execute(text(f'VACUUM "{table}"'))
