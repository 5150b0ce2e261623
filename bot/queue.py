"""Talk to a person: tickets, the waiting line, claims and the live handoff.

The person's side (open, leave, relay what they write) is called by the engine; the
advocate's side (claim, send, transfer, close) by the console. Both go through here so
the rules live in one place: claims are atomic, the reply address exists only while a
ticket is open and only encrypted, and after a close nothing more is ever sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.crypto import DecryptionError, Sealer
from bot.db import SessionFactory, transaction
from bot.delivery import Senders
from bot.i18n import catalogue
from bot.models import Advocate, Contact, Ticket, utcnow
from bot.public_alias import new_public_alias
from bot.relay import QUEUE_TOPIC, Relay, ticket_topic
from bot.states import State, TicketStatus
from bot.types import Address, Channel, Reply

log = logging.getLogger(__name__)

OUTCOME_CODES = (
    "hotline_given",
    "referral_shelter",
    "referral_legal",
    "referral_medical",
    "referral_labour",
    "safety_planning",
    "no_response",
    "misuse",
    "expired",
    "left",
)
_DEFAULT_WAIT = dt.timedelta(minutes=5)
_RECENT_WAITS = 50


class TicketError(Exception):
    """An advocate action that cannot be done (already claimed, closed, not theirs)."""


@dataclass(frozen=True, slots=True)
class Place:
    ticket_id: int
    position: int
    wait_minutes: int
    advocates_online: int
    speakers_online: int


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


class Queue:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        relay: Relay,
        senders: Senders,
        address_sealer: Sealer,
        hold: dt.timedelta,
    ) -> None:
        self._sessions = sessions
        self._relay = relay
        self._senders = senders
        self._sealer = address_sealer
        self._hold = hold

    # --- the person's side -------------------------------------------------------

    async def open_ticket(
        self,
        session: AsyncSession,
        *,
        contact: Contact,
        address: Address | None,
        urgent: bool,
        now: dt.datetime,
    ) -> Ticket:
        """Put the person in line; the caller commits with the contact's state."""
        ticket = Ticket(
            contact_alias=contact.alias,
            public_alias=new_public_alias(),
            channel=contact.channel,
            language=contact.language,
            country=contact.country,
            urgent=urgent,
            created_at=now,
            hold_until=now + self._hold,
            address_ciphertext=self.seal_address(address) if address is not None else None,
        )
        session.add(ticket)
        await session.flush()
        assert ticket.id is not None
        contact.ticket_id = ticket.id
        log.info("ticket opened id=%s urgent=%s language=%s", ticket.id, urgent, ticket.language)
        return ticket

    async def refresh(
        self, session: AsyncSession, ticket: Ticket, address: Address | None, now: dt.datetime
    ) -> None:
        """The person wrote again: keep their place and their latest reply address."""
        if ticket.status == TicketStatus.WAITING:
            ticket.hold_until = now + self._hold
        if address is not None:
            ticket.address_ciphertext = self.seal_address(address)
        session.add(ticket)

    async def mark_urgent(self, session: AsyncSession, ticket: Ticket) -> None:
        if not ticket.urgent:
            ticket.urgent = True
            session.add(ticket)
            log.info("ticket marked urgent id=%s", ticket.id)

    async def leave(self, session: AsyncSession, ticket: Ticket, now: dt.datetime) -> None:
        """The person left the line or the chat: close without a message back."""
        self._close_fields(ticket, ("left",), now)
        session.add(ticket)

    async def place(self, session: AsyncSession, ticket: Ticket, now: dt.datetime) -> Place:
        assert ticket.id is not None
        ahead = await session.exec(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.status == TicketStatus.WAITING)
            .where(self._ahead_of(ticket))
        )
        position = int(ahead.one()) + 1
        online = await self._online(session, now)
        speakers = sum(1 for advocate in online if ticket.language in advocate.language_codes())
        average = await self._average_wait(session, now)
        capacity = max(1, len(online))
        minutes = max(1, round(average.total_seconds() / 60 * position / capacity))
        return Place(ticket.id, position, minutes, len(online), speakers)

    async def relay_from_person(self, ticket: Ticket, text: str) -> None:
        """Pass what the person wrote to the advocate's console. Never stored."""
        assert ticket.id is not None
        await self._relay.publish(
            ticket_topic(ticket.id), {"type": "message", "from": "person", "text": text}
        )

    async def announce(self) -> None:
        await self._relay.publish(QUEUE_TOPIC, {"type": "queue"})

    # --- the advocate's side -----------------------------------------------------

    async def claim(self, *, ticket_id: int, advocate_id: int) -> Ticket:
        """Give the ticket to this advocate if nobody has it: exactly one claim wins."""
        now = utcnow()
        async with transaction(self._sessions) as session:
            result = await session.exec(
                update(Ticket)  # type: ignore[call-overload]
                .where(col(Ticket.id) == ticket_id)
                .where(col(Ticket.status) == TicketStatus.WAITING)
                .values(status=TicketStatus.ACTIVE, advocate_id=advocate_id, claimed_at=now)
            )
            if result.rowcount != 1:
                raise TicketError("ticket is no longer waiting")
            ticket = await session.get(Ticket, ticket_id)
            assert ticket is not None
            contact = await self._contact(session, ticket)
            if contact is not None:
                contact.state = State.CONNECTED
                session.add(contact)
        log.info("ticket claimed id=%s advocate=%s", ticket_id, advocate_id)
        await self._notify_person(ticket, "talk.connected")
        await self.announce()
        return ticket

    async def send_to_person(self, *, ticket_id: int, advocate_id: int, text: str) -> bool:
        """Deliver an advocate's message to the person. Never stored."""
        async with self._sessions() as session:
            ticket = await self._own_open_ticket(session, ticket_id, advocate_id)
        address = self.open_address(ticket)
        if address is None:
            raise TicketError("ticket has no reply address")
        direction = catalogue(ticket.language).language.direction
        delivered = await self._senders.send(address, [Reply(text=text, direction=direction)])
        await self._relay.publish(
            ticket_topic(ticket_id),
            {"type": "delivery", "ok": delivered, "advocate": advocate_id},
        )
        return delivered

    async def transfer(self, *, ticket_id: int, advocate_id: int, to_advocate: int | None) -> None:
        """Hand the chat to another advocate, or back to the line when ``to_advocate`` is None."""
        async with transaction(self._sessions) as session:
            ticket = await self._own_open_ticket(session, ticket_id, advocate_id, any_advocate=True)
            if to_advocate is None:
                ticket.status = TicketStatus.WAITING
                ticket.advocate_id = None
                ticket.hold_until = utcnow() + self._hold
                contact = await self._contact(session, ticket)
                if contact is not None:
                    contact.state = State.QUEUED
                    session.add(contact)
            else:
                target = await session.get(Advocate, to_advocate)
                if target is None or not target.active:
                    raise TicketError("no such advocate")
                ticket.advocate_id = to_advocate
            session.add(ticket)
        await self._relay.publish(
            ticket_topic(ticket_id), {"type": "transferred", "to": to_advocate}
        )
        await self.announce()

    async def close(self, *, ticket_id: int, advocate_id: int, outcomes: Sequence[str]) -> None:
        """End the chat: one closing message to the person, then the address is erased."""
        unknown = [code for code in outcomes if code not in OUTCOME_CODES]
        if unknown:
            raise TicketError("unknown outcome code")
        async with self._sessions() as session:
            ticket = await self._own_open_ticket(session, ticket_id, advocate_id, any_advocate=True)
        await self._notify_person(ticket, "talk.closed")
        async with transaction(self._sessions) as session:
            fresh = await session.get(Ticket, ticket_id)
            assert fresh is not None
            contact = await self._contact(session, fresh)
            if contact is not None:
                contact.state = State.MAIN_MENU
                contact.ticket_id = None
                session.add(contact)
            self._close_fields(fresh, outcomes, utcnow())
            session.add(fresh)
        log.info("ticket closed id=%s outcomes=%s", ticket_id, ",".join(outcomes))
        await self._relay.publish(ticket_topic(ticket_id), {"type": "closed"})
        await self.announce()

    async def entries(self, *, include_active: bool = True) -> list[QueueEntry]:
        """Open tickets, urgent first, then oldest first."""
        statuses = (
            [TicketStatus.WAITING, TicketStatus.ACTIVE]
            if include_active
            else [TicketStatus.WAITING]
        )
        async with self._sessions() as session:
            rows = await session.exec(
                select(Ticket)
                .where(col(Ticket.status).in_(statuses))
                .order_by(col(Ticket.urgent).desc(), col(Ticket.created_at))
            )
            return [
                QueueEntry(
                    id=t.id or 0,
                    public_alias=t.public_alias,
                    channel=t.channel,
                    language=t.language,
                    country=t.country,
                    urgent=t.urgent,
                    status=t.status,
                    created_at=t.created_at,
                    advocate_id=t.advocate_id,
                )
                for t in rows.all()
            ]

    async def expire(self, now: dt.datetime) -> int:
        """Close waiting tickets whose hold has run out. Nothing is sent: the session is over."""
        async with transaction(self._sessions) as session:
            rows = (
                await session.exec(
                    select(Ticket)
                    .where(Ticket.status == TicketStatus.WAITING)
                    .where(col(Ticket.hold_until) < now)
                )
            ).all()
            for ticket in rows:
                contact = await self._contact(session, ticket)
                if contact is not None:
                    contact.state = State.MAIN_MENU
                    contact.ticket_id = None
                    session.add(contact)
                self._close_fields(ticket, ("expired",), now)
                session.add(ticket)
        if rows:
            log.info("expired waiting tickets count=%s", len(rows))
            await self.announce()
        return len(rows)

    # --- helpers -------------------------------------------------------------------

    def seal_address(self, address: Address) -> bytes:
        return self._sealer.seal(f"{address.channel}\x00{address.value}".encode())

    def open_address(self, ticket: Ticket) -> Address | None:
        if ticket.address_ciphertext is None:
            return None
        try:
            opened = self._sealer.open(ticket.address_ciphertext)
        except DecryptionError:
            log.warning("reply address unreadable ticket=%s", ticket.id)
            return None
        channel, _, value = opened.decode().partition("\x00")
        return Address(Channel(channel), value)

    async def _notify_person(self, ticket: Ticket, key: str) -> None:
        address = self.open_address(ticket)
        if address is None:
            return
        words = catalogue(ticket.language)
        await self._senders.send(
            address, [Reply(text=words.text(key), direction=words.language.direction)]
        )

    async def _own_open_ticket(
        self, session: AsyncSession, ticket_id: int, advocate_id: int, *, any_advocate: bool = False
    ) -> Ticket:
        ticket = await session.get(Ticket, ticket_id)
        if ticket is None or ticket.status != TicketStatus.ACTIVE:
            raise TicketError("ticket is not open")
        if ticket.advocate_id != advocate_id and not any_advocate:
            raise TicketError("ticket belongs to another advocate")
        return ticket

    async def _contact(self, session: AsyncSession, ticket: Ticket) -> Contact | None:
        if ticket.contact_alias is None:
            return None
        return await session.get(Contact, ticket.contact_alias)

    async def _online(self, session: AsyncSession, now: dt.datetime) -> list[Advocate]:
        rows = await session.exec(
            select(Advocate).where(col(Advocate.active)).where(col(Advocate.online_until) > now)
        )
        return list(rows.all())

    async def _average_wait(self, session: AsyncSession, now: dt.datetime) -> dt.timedelta:
        rows = await session.exec(
            select(Ticket.created_at, Ticket.claimed_at)
            .where(col(Ticket.claimed_at).is_not(None))
            .where(col(Ticket.created_at) > now - dt.timedelta(hours=24))
            .order_by(col(Ticket.created_at).desc())
            .limit(_RECENT_WAITS)
        )
        waits = [(claimed - created).total_seconds() for created, claimed in rows.all() if claimed]
        if not waits:
            return _DEFAULT_WAIT
        return dt.timedelta(seconds=statistics.median(waits))

    @staticmethod
    def _ahead_of(ticket: Ticket) -> ColumnElement[bool]:
        earlier = col(Ticket.created_at) < ticket.created_at
        if ticket.urgent:
            return col(Ticket.urgent) & earlier
        return col(Ticket.urgent) | earlier

    @staticmethod
    def _close_fields(ticket: Ticket, outcomes: Sequence[str], now: dt.datetime) -> None:
        ticket.status = TicketStatus.CLOSED
        ticket.closed_at = now
        ticket.outcomes = ",".join(outcomes)
        ticket.address_ciphertext = None
        ticket.contact_alias = None
