"""Talk to a person: tickets, the waiting line, claims and the live handoff.

The person's side (open, leave, relay what they write) is called by the engine; the
advocate's side (claim, send, transfer, close) by the console. Both go through here so
the rules live in one place: claims are atomic, the reply address exists only while a
ticket is open and only encrypted, and after a close nothing more is ever sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import secrets
import statistics
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement
from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.crypto import DecryptionError, Sealer
from bot.db import SessionFactory, one_open_ticket, transaction
from bot.delivery import Senders
from bot.held_messages import HOLD_SECONDS, HeldMessages
from bot.i18n import catalogue
from bot.models import Advocate, Contact, Ticket, utcnow
from bot.plain_reads import PlainReads
from bot.priority import Priority
from bot.public_alias import new_public_alias
from bot.queue_listing import (
    PAGE_SIZE,
    PageKey,
    QueueEntry,
    WaitingGroup,
    WaitingPage,
    arrived_since,
    open_chats,
    open_entries,
    open_entry,
    waiting_page,
    waiting_summary,
)
from bot.relay import (
    QUEUE_TOPIC,
    Ack,
    Closed,
    Delivery,
    Left,
    Missed,
    PersonMessage,
    QueueChanged,
    Relay,
    Replay,
    Transferred,
    ticket_topic,
)
from bot.states import State, TicketStatus
from bot.types import Address, Channel, Reply

if TYPE_CHECKING:
    from bot.helpline import Helpline

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
MAX_FROM_PERSON = 4_000
"""Longest message passed to an advocate at once (Telegram's own limit is 4,096)."""
ABSENT_GRACE = dt.timedelta(seconds=90)
"""How long an advocate's page may be gone (a reload, a dropped link) before their chats return."""


def clean_text(text: str) -> str:
    """Replace lone surrogates (not encodable, they would break every JSON frame after them)."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


class TicketError(Exception):
    """An advocate action that cannot be done (already claimed, closed, not theirs)."""


@dataclass(frozen=True, slots=True)
class Place:
    ticket_id: int
    position: int
    wait_minutes: int
    advocates_online: int
    speakers_online: int


class Queue:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        relay: Relay,
        senders: Senders,
        address_sealer: Sealer,
        hold: dt.timedelta,
        clock: Callable[[], dt.datetime] = utcnow,
        priority: Priority | None = None,
        plain: PlainReads | None = None,
    ) -> None:
        self._priority = priority or Priority()
        self._plain = plain
        """SQLite: the ticket an advocate writes on is read in one hand-off to a thread."""
        self._clock = clock
        self._sessions = sessions
        self._relay = relay
        self._senders = senders
        self._sealer = address_sealer
        self._hold = hold
        self._watchers: dict[int, HeldMessages] = {}
        self.hold_seconds = HOLD_SECONDS

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
        """Put the person in line (once: a second tap finds the first ticket); the caller commits."""
        opened = await session.exec(
            one_open_ticket(session)
            .values(
                contact_alias=contact.alias,
                public_alias=new_public_alias(),
                channel=contact.channel,
                language=contact.language,
                country=contact.country,
                urgent=urgent,
                status=TicketStatus.WAITING,
                created_at=now,
                hold_until=now + self._hold,
                address_ciphertext=self.seal_address(address) if address is not None else None,
                outcomes="",
            )
            .returning(col(Ticket.id))
        )
        ticket_id = opened.scalar_one_or_none()
        if ticket_id is None:
            # Already queued: a double tap or a copy on another worker opened it first.
            ticket_id = (
                await session.exec(
                    select(Ticket.id)
                    .where(col(Ticket.contact_alias) == contact.alias)
                    .where(col(Ticket.status) != TicketStatus.CLOSED)
                )
            ).one()
            log.info("ticket already open id=%s", ticket_id)
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.id is not None
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
        was_active = ticket.status == TicketStatus.ACTIVE
        self._close_fields(ticket, ("left",), now)
        session.add(ticket)
        if was_active and ticket.id is not None:
            # The advocate's open chat must learn at once that nobody is there any more.
            await self._relay.publish(ticket_topic(ticket.id), Left().event())

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
        """Pass what the person wrote to the advocate's console; held in memory until seen."""
        assert ticket.id is not None
        text = clean_text(text)
        cut = len(text) > MAX_FROM_PERSON
        if cut:
            text = text[:MAX_FROM_PERSON]
        message = PersonMessage(id=secrets.token_urlsafe(12), text=text, cut=cut)
        watcher = self._watchers.get(ticket.id)
        if watcher is None or watcher.done:
            watcher = HeldMessages(
                self._relay, ticket.id, hold_seconds=self.hold_seconds, on_missed=self._missed
            )
            self._watchers[ticket.id] = watcher
            await watcher.start()
        watcher.hold(message)
        await self._relay.publish(ticket_topic(ticket.id), message.event())
        if cut:
            await self._notify_person(ticket, "console_person.too_long")

    def holding(self, ticket_id: int) -> int:
        """How many of this person's messages this worker still holds for a page."""
        watcher = self._watchers.get(ticket_id)
        return 0 if watcher is None or watcher.done else watcher.count

    async def acknowledge(self, ticket_id: int, message_id: str) -> None:
        """An advocate's page has this message: every worker holding it may let it go."""
        await self._relay.publish(ticket_topic(ticket_id), Ack(id=message_id).event())

    async def replay(self, ticket_id: int) -> None:
        """Ask every worker to send again what it still holds for this chat (a page (re)opened)."""
        await self._relay.publish(ticket_topic(ticket_id), Replay().event())

    async def holder(self, ticket_id: int) -> int | None:
        """The advocate who holds this chat right now, or None."""
        async with self._sessions() as session:
            result = await session.exec(
                select(Ticket.advocate_id)
                .where(col(Ticket.id) == ticket_id)
                .where(Ticket.status == TicketStatus.ACTIVE)
            )
            return result.first()

    async def _missed(self, ticket_id: int, count: int, total: int) -> None:
        """Held messages timed out: tell the person, and the advocate's page when it is back."""
        async with self._sessions() as session:
            ticket = await session.get(Ticket, ticket_id)
        if ticket is None or ticket.status == TicketStatus.CLOSED:
            return
        log.info("held messages not seen ticket=%s count=%s", ticket_id, count)
        await self._notify_person(ticket, "console_person.not_received")
        await self._relay.publish(ticket_topic(ticket_id), Missed(count=total).event())

    async def announce(self) -> None:
        await self._relay.publish(QUEUE_TOPIC, QueueChanged().event())

    # --- the advocate's side -----------------------------------------------------

    async def claim(self, *, ticket_id: int, advocate_id: int) -> Ticket:
        """Give the ticket to this advocate if nobody has it: exactly one claim wins."""
        now = self._clock()
        async with transaction(self._sessions) as session:
            result = await session.exec(
                update(Ticket)
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
        """Deliver an advocate's message to the person, before menu traffic. Never stored."""
        async with self._priority.live():
            ticket = await self._live_ticket(ticket_id, advocate_id)
            address = self.open_address(ticket)
            if address is None:
                raise TicketError("ticket has no reply address")
            direction = catalogue(ticket.language).language.direction
            delivered = await self._senders.send(address, [Reply(text=text, direction=direction)])
        await self._relay.publish(
            ticket_topic(ticket_id), Delivery(ok=delivered, advocate=advocate_id).event()
        )
        return delivered

    async def typing(self, *, ticket_id: int, advocate_id: int) -> bool:
        """The advocate is writing: show it where the person's channel can (Telegram)."""
        async with self._sessions() as session:
            ticket = await self._own_open_ticket(session, ticket_id, advocate_id)
        address = self.open_address(ticket)
        return address is not None and await self._senders.typing(address)

    async def transfer(
        self,
        *,
        ticket_id: int,
        advocate_id: int,
        to_advocate: int | None,
        supervisor: bool = False,
    ) -> None:
        """Hand the chat to another advocate, or back to the front of the line (``None``).

        An advocate transfers their own chats; a supervisor may reassign anyone's. The
        receiving advocate must be active, online, speak the person's language and have
        room under their ``max_chats``. The person is told either way.
        """
        now = self._clock()
        async with transaction(self._sessions) as session:
            ticket = await self._own_open_ticket(
                session, ticket_id, advocate_id, any_advocate=supervisor
            )
            if to_advocate is None:
                await self._to_front(session, ticket)
            else:
                target = await session.get(Advocate, to_advocate)
                if target is None or not target.active:
                    raise TicketError("no such advocate")
                if to_advocate == ticket.advocate_id:
                    raise TicketError("this chat is already theirs")
                if ticket.language not in target.language_codes():
                    raise TicketError(f"{target.name} does not speak this person's language")
                online = target.online_until is not None and _aware(target.online_until) > now
                if not online:
                    raise TicketError(f"{target.name} is not online")
                holding = await session.exec(
                    select(func.count())
                    .select_from(Ticket)
                    .where(Ticket.status == TicketStatus.ACTIVE)
                    .where(col(Ticket.advocate_id) == to_advocate)
                )
                if int(holding.one()) >= target.max_chats:
                    raise TicketError(f"{target.name} already holds as many chats as they can")
                ticket.advocate_id = to_advocate
            session.add(ticket)
        log.info("ticket transferred id=%s to_queue=%s", ticket_id, to_advocate is None)
        await self._relay.publish(
            ticket_topic(ticket_id), Transferred(to=to_advocate, by=advocate_id).event()
        )
        await self._notify_person(
            ticket,
            "console_person.requeued" if to_advocate is None else "console_person.transferred",
        )
        await self.announce()

    async def return_orphans(self, now: dt.datetime, *, advocate_id: int | None = None) -> int:
        """Chats whose advocate is deactivated or gone go back to the front of the line.

        Gone: their page has been away longer than ``ABSENT_GRACE`` (tab closed, signed
        out after idling, or a transfer to someone who then left). With ``advocate_id``
        that advocate's chats return at once (they were just deactivated).
        """
        returned: list[Ticket] = []
        async with transaction(self._sessions) as session:
            query = (
                select(Ticket)
                .join(Advocate, col(Advocate.id) == col(Ticket.advocate_id))
                .where(Ticket.status == TicketStatus.ACTIVE)
            )
            if advocate_id is not None:
                query = query.where(col(Ticket.advocate_id) == advocate_id)
            else:
                query = query.where(
                    ~col(Advocate.active)
                    | col(Advocate.online_until).is_(None)
                    | (col(Advocate.online_until) < now - ABSENT_GRACE)
                )
            for ticket in (await session.exec(query)).all():
                # Every worker's housekeeping may see the same chat: only one moves it.
                moved = await session.exec(
                    update(Ticket)
                    .where(col(Ticket.id) == ticket.id)
                    .where(col(Ticket.status) == TicketStatus.ACTIVE)
                    .where(col(Ticket.advocate_id) == ticket.advocate_id)
                    .values(status=TicketStatus.WAITING)
                )
                if moved.rowcount != 1:
                    continue
                await session.refresh(ticket)
                await self._to_front(session, ticket)
                session.add(ticket)
                returned.append(ticket)
        for ticket in returned:
            assert ticket.id is not None
            log.info("ticket returned to the line id=%s", ticket.id)
            await self._relay.publish(ticket_topic(ticket.id), Transferred(to=None).event())
            await self._notify_person(ticket, "console_person.requeued")
        if returned:
            await self.announce()
        return len(returned)

    async def _to_front(self, session: AsyncSession, ticket: Ticket) -> None:
        """Back to the line ahead of everyone of the same urgency: they already waited once."""
        first = await session.exec(
            select(func.min(Ticket.created_at))
            .where(Ticket.status == TicketStatus.WAITING)
            .where(col(Ticket.urgent) == ticket.urgent)
        )
        earliest = first.one()
        if earliest is not None and _aware(earliest) <= _aware(ticket.created_at):
            ticket.created_at = _aware(earliest) - dt.timedelta(milliseconds=1)
        ticket.status = TicketStatus.WAITING
        ticket.advocate_id = None
        ticket.hold_until = self._clock() + self._hold
        contact = await self._contact(session, ticket)
        if contact is not None:
            contact.state = State.QUEUED
            session.add(contact)

    async def close(
        self,
        *,
        ticket_id: int,
        advocate_id: int,
        outcomes: Sequence[str],
        supervisor: bool = False,
    ) -> None:
        """End the chat: one closing message to the person, then the address is erased."""
        unknown = [code for code in outcomes if code not in OUTCOME_CODES]
        if unknown or not outcomes:
            raise TicketError("unknown outcome code")
        async with self._sessions() as session:
            ticket = await self._own_open_ticket(
                session, ticket_id, advocate_id, any_advocate=supervisor
            )
        async with transaction(self._sessions) as session:
            # Only the close that moves the ticket out of ACTIVE speaks: a second close,
            # or the person leaving at the same moment, sends nothing more.
            result = await session.exec(
                update(Ticket)
                .where(col(Ticket.id) == ticket_id)
                .where(col(Ticket.status) == TicketStatus.ACTIVE)
                .values(
                    status=TicketStatus.CLOSED,
                    closed_at=self._clock(),
                    outcomes=",".join(outcomes),
                    address_ciphertext=None,
                    contact_alias=None,
                )
            )
            if result.rowcount != 1:
                raise TicketError("ticket is not open")
            contact = await self._contact(session, ticket)
            if contact is not None and contact.ticket_id == ticket_id:
                contact.state = State.MAIN_MENU
                contact.ticket_id = None
                session.add(contact)
        await self._notify_person(ticket, "talk.closed")
        log.info("ticket closed id=%s outcomes=%s", ticket_id, ",".join(outcomes))
        await self._relay.publish(ticket_topic(ticket_id), Closed().event())
        await self.announce()

    async def entries(self, *, include_active: bool = True) -> list[QueueEntry]:
        """Every open ticket, urgent first, then oldest first: the whole line at once.

        The console reads a page at a time instead (``waiting_page``).
        """
        return await open_entries(self._sessions, include_active=include_active)

    async def waiting_page(
        self,
        *,
        spoken: Collection[str] = (),
        size: int = PAGE_SIZE,
        after: PageKey | None = None,
    ) -> WaitingPage:
        """A screenful of the waiting line in inbox order (see bot/queue_listing.py)."""
        return await waiting_page(self._sessions, spoken=spoken, size=size, after=after)

    async def waiting_summary(self) -> list[WaitingGroup]:
        return await waiting_summary(self._sessions)

    async def open_chats(self, *, advocate_id: int | None = None) -> list[QueueEntry]:
        return await open_chats(self._sessions, advocate_id=advocate_id)

    async def entry(self, ticket_id: int) -> QueueEntry | None:
        return await open_entry(self._sessions, ticket_id)

    async def arrived_since(self, newest: int | None) -> tuple[list[QueueEntry], int]:
        return await arrived_since(self._sessions, newest)

    async def discreet(self, ticket_id: int) -> bool:
        """Whether the person on this ticket asked for discreet wording."""
        async with self._sessions() as session:
            ticket = await session.get(Ticket, ticket_id)
            contact = await self._contact(session, ticket) if ticket is not None else None
            return bool(contact and contact.discreet)

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

    # --- news for people waiting ----------------------------------------------------

    async def send_place_updates(self, now: dt.datetime, interval: dt.timedelta) -> int:
        """Tell people in line their new place when it moved a lot; at most once per interval."""
        due: list[tuple[Ticket, Contact, Place]] = []
        async with self._sessions() as session:
            rows = await session.exec(
                select(Ticket, Contact)
                .join(Contact, col(Contact.alias) == col(Ticket.contact_alias))
                .where(Ticket.status == TicketStatus.WAITING)
                .where(col(Ticket.address_ciphertext).is_not(None))
                .where(Contact.state == State.QUEUED)
                .where(col(Contact.opted_out).is_(False))
            )
            for ticket, contact in rows.all():
                told = contact.last_queue_notice or ticket.created_at
                if now - _aware(told) < interval:
                    continue
                place = await self.place(session, ticket, now)
                before = await self._position_at(session, ticket, place.position, _aware(told))
                if _moved_a_lot(before, place.position):
                    due.append((ticket, contact, place))
        sent = 0
        for ticket, contact, place in due:
            if await self._take_notice_turn(contact, now) and await self._tell_place(
                ticket, contact, place
            ):
                sent += 1
        if sent:
            log.info("queue place updates sent count=%s", sent)
        return sent

    async def _position_at(
        self, session: AsyncSession, ticket: Ticket, position: int, then: dt.datetime
    ) -> int:
        """Estimate the place this ticket had at ``then`` from who left and who arrived ahead."""
        departed = await session.exec(
            select(func.count())
            .select_from(Ticket)
            .where(col(Ticket.id) != ticket.id)
            .where(Ticket.status != TicketStatus.WAITING)
            .where(col(Ticket.created_at) <= then)
            .where(self._ahead_of(ticket))
            .where(
                (col(Ticket.claimed_at) > then)
                | (col(Ticket.claimed_at).is_(None) & (col(Ticket.closed_at) > then))
            )
        )
        arrived = await session.exec(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.status == TicketStatus.WAITING)
            .where(col(Ticket.created_at) > then)
            .where(self._ahead_of(ticket))
        )
        return max(1, position + int(departed.one()) - int(arrived.one()))

    async def _take_notice_turn(self, contact: Contact, now: dt.datetime) -> bool:
        """Claim this notice across workers: only one of them moves the timestamp."""
        async with transaction(self._sessions) as session:
            told = col(Contact.last_queue_notice)
            same = (
                told.is_(None)
                if contact.last_queue_notice is None
                else told == contact.last_queue_notice
            )
            result = await session.exec(
                update(Contact)
                .where(col(Contact.alias) == contact.alias)
                .where(same)
                .values(last_queue_notice=now)
            )
            return bool(result.rowcount == 1)

    async def _tell_place(self, ticket: Ticket, contact: Contact, place: Place) -> bool:
        address = self.open_address(ticket)
        if address is None:
            return False
        words = catalogue(ticket.language)
        text = words.text(
            "queue.update",
            discreet=contact.discreet,
            position=str(place.position),
            minutes=str(place.wait_minutes),
            leave_word=words.first_word("keywords.leave_queue"),
        )
        return await self._senders.send(
            address, [Reply(text=text, direction=words.language.direction)]
        )

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
        # A person who chose discreet wording keeps it in what the line sends later too.
        discreet = ticket.id is not None and await self.discreet(ticket.id)
        await self._senders.send(
            address,
            [Reply(text=words.text(key, discreet=discreet), direction=words.language.direction)],
        )

    async def _own_open_ticket(
        self, session: AsyncSession, ticket_id: int, advocate_id: int, *, any_advocate: bool = False
    ) -> Ticket:
        ticket = await session.get(Ticket, ticket_id)
        return _own_open(ticket, None if any_advocate else advocate_id)

    async def _live_ticket(self, ticket_id: int, advocate_id: int) -> Ticket:
        """The advocate's own open ticket, read as fast as the database allows."""
        if self._plain is None:
            async with self._sessions() as session:
                return await self._own_open_ticket(session, ticket_id, advocate_id)
        rows = await self._plain.rows(select(Ticket).where(col(Ticket.id) == ticket_id))
        return _own_open(Ticket.model_validate(rows[0]) if rows else None, advocate_id)

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


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite may hand back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _moved_a_lot(before: int, now: int) -> bool:
    """First in line, or moved by a third of the line (at least two places)."""
    if before == now:
        return False
    if now == 1:
        return True
    return abs(before - now) >= max(2, math.ceil(before / 3))


async def send_queue_updates(helpline: Helpline) -> int:
    """Housekeeping: send due place updates to people in line; return how many were sent."""
    interval = dt.timedelta(seconds=helpline.settings.queue_update_interval_seconds)
    return await helpline.queue.send_place_updates(helpline.clock(), interval)


def _own_open(ticket: Ticket | None, advocate_id: int | None) -> Ticket:
    """``ticket`` if it is open and ``advocate_id``'s (any advocate's: None), else an error."""
    if ticket is None or ticket.status != TicketStatus.ACTIVE:
        raise TicketError("ticket is not open")
    if advocate_id is not None and ticket.advocate_id != advocate_id:
        raise TicketError("ticket belongs to another advocate")
    return ticket
