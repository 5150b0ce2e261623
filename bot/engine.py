"""The conversation engine: one inbound message in, the replies out.

Channel-neutral: it imports no web framework and no provider library. It does three
things: load the person's state by alias, run the turn (the router and the topics
registered on it decide everything, danger first), and save. Person state moves
through here only.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.aliases import AliasKeys
from bot.coherence import Look, Versions
from bot.contact_cache import ContactCache, SeenIds
from bot.conversation import Conversation, Router
from bot.counts import Counts
from bot.db import SessionFactory, transaction
from bot.dedup import DeliveryClaims
from bot.hotlines import Directory
from bot.i18n import Catalogue, catalogue, language_for_country, language_for_telegram
from bot.language_detect import guess_language
from bot.models import ChatMessageId, Contact, SeenMessage, Ticket, contact_of, utcnow
from bot.person_reads import PersonReads
from bot.queue import Queue
from bot.settings import Settings
from bot.state_writer import StateWriter
from bot.states import State, TicketStatus
from bot.types import Address, Channel, Inbound, Turn

log = logging.getLogger(__name__)

SEEN_ID_TTL = dt.timedelta(hours=2)
Clock = Callable[[], dt.datetime]


class Engine:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: SessionFactory,
        aliases: AliasKeys,
        queue: Queue,
        router: Router,
        directory: Directory,
        counts: Counts,
        writer: StateWriter,
        cache: ContactCache,
        seen_ids: SeenIds,
        clock: Clock = utcnow,
        claims: DeliveryClaims | None = None,
        versions: Versions | None = None,
        reads: SessionFactory | None = None,
        people: PersonReads | None = None,
    ) -> None:
        self._reads = reads or sessions
        self._people = people or PersonReads(self._reads)
        self._claims = claims or DeliveryClaims(None, namespace="")
        self._versions = versions or Versions(
            self._claims, namespace="", keep_for_seconds=1, seen_seconds=1
        )
        self._versions.on_unreachable = cache.clear
        self._cache = cache
        self._seen_ids = seen_ids
        self.settings = settings
        self._sessions = sessions
        self._aliases = aliases
        self.queue = queue
        self._router = router
        self._directory = directory
        self._counts = counts
        self._clock = clock
        self._idle = dt.timedelta(seconds=settings.idle_timeout_seconds)
        self._writer = writer

    @property
    def person_reads(self) -> PersonReads:
        """Where this worker reads people's saved state."""
        return self._people

    async def drain(self) -> None:
        """Finish saving the state of turns in flight (at shutdown)."""
        await self._writer.drain()
        await self._people.close()

    async def identify(self, channel: Channel, user_id: str) -> tuple[str, str | None]:
        """Return (alias, previous-period alias) for a channel's user id. The id is not kept."""
        return await self._aliases.aliases(self._sessions, channel, user_id, self._clock())

    async def start(self) -> None:
        """Hold people's state and the message ids handled (when this process is the only one)."""
        await self._seen_ids.load(self._sessions, self._clock())
        await self._cache.load(self._sessions, self._clock())
        if self._versions.enabled:
            async with self._sessions() as session:
                newest = await session.exec(select(func.max(SeenMessage.expires_at)))
                expiry = newest.one()
            await self._versions.start(_aware(expiry).timestamp() if expiry else None)

    async def receive(
        self,
        channel: Channel,
        user_id: str,
        text: str,
        *,
        choice: str | None = None,
        language_hint: str | None = None,
        country_hint: str | None = None,
        message_id: str | None = None,
    ) -> Turn:
        """Answer a message from ``user_id`` on ``channel``: identify by alias, then handle."""
        alias, previous = await self.identify(channel, user_id)
        return await self.handle(
            Inbound(
                channel=channel,
                alias=alias,
                previous_alias=previous,
                text=text,
                address=Address(channel, user_id),
                choice=choice,
                language_hint=language_hint,
                country_hint=country_hint,
                message_id=message_id,
            )
        )

    async def handle(self, inbound: Inbound) -> Turn:
        """Answer one message. A redelivered message id gets no answer and changes nothing."""
        now = self._clock()
        seen = (
            (f"{inbound.channel}:{inbound.message_id}", now + SEEN_ID_TTL)
            if inbound.message_id
            else None
        )
        remembered = seen is not None and self._seen_ids.enabled
        if remembered and seen is not None and not self._seen_ids.claim(seen[0], seen[1], now):
            return Turn((), duplicate=True)
        # The message-id claim (bot/dedup.py) and the person's version, in one round trip.
        look = await self._versions.look(inbound.alias, seen[0] if seen else None)
        if not look.claimed:
            return Turn((), duplicate=True)
        saved: list[bool] = []
        try:
            return await self._turn(inbound, seen, now, look, saved)
        except BaseException:
            if remembered and seen is not None:
                self._seen_ids.release(seen[0])  # the carrier's redelivery must be answered
            if seen is not None and not saved:
                await self._claims.release(seen[0])
            raise

    async def _turn(
        self,
        inbound: Inbound,
        seen: tuple[str, dt.datetime] | None,
        now: dt.datetime,
        look: Look,
        saved: list[bool],
    ) -> Turn:
        cached = self._cache.get(inbound.alias, now, look.token)
        newcomer = (
            cached is None
            and self._cache.known_absent(inbound.alias, now)
            and (
                inbound.previous_alias is None
                or self._cache.known_absent(inbound.previous_alias, now)
            )
        )
        ask_seen = seen is not None and not self._seen_ids.enabled and not look.seen_complete
        if newcomer and not ask_seen:
            contact, fresh, carried_from = self._new_contact(inbound, now), True, None
        elif cached is not None and not ask_seen:
            contact, fresh, carried_from = (*self._resume(cached, now), None)
        else:
            if ask_seen and seen is not None and await self._already_seen(seen[0]):
                return Turn((), duplicate=True)
            if cached is not None:
                contact, fresh, carried_from = (*self._resume(cached, now), None)
            else:
                contact, fresh, carried_from = await self._load(inbound, now)
        if contact.opted_out:
            return Turn(())
        conversation = Conversation(
            inbound=inbound,
            contact=contact,
            catalogue=catalogue(contact.language),
            directory=self._directory,
            settings=self.settings,
            queue=self.queue,
            now=now,
            sessions=self._sessions,
            router=self._router,
        )
        try:
            if carried_from is not None:
                await self._carry_over(conversation.session, carried_from, contact)
            await self._converse(conversation, fresh)
            if conversation.end_session:
                await self._erase(conversation.session, contact)
            else:
                contact.last_seen = now
            token = await self._save(conversation, seen, carried_from)
            saved.append(True)
            if conversation.end_session and contact.discreet:
                self._cache.put(self._discreet_only(contact), token)
            elif conversation.end_session:
                self._cache.drop(contact.alias)
            else:
                self._cache.put(contact, token)
            if carried_from is not None:
                self._cache.drop(carried_from)
        except IntegrityError:
            # The same provider message id arrived twice at once and the other copy saved
            # first: it answers. Any other refusal fails the turn, so the carrier delivers
            # the message again; taken for a duplicate, it would be answered by nobody.
            if seen is None or not await self._already_seen(seen[0]):
                raise
            log.info("concurrent duplicate delivery channel=%s", inbound.channel)
            return Turn((), duplicate=True)
        finally:
            if conversation.opened_session is not None:
                await conversation.opened_session.close()
        self._count(conversation, now, fresh)
        if conversation.queue_changed:
            await self.queue.announce()
        return Turn(
            tuple(conversation.replies),
            language=conversation.catalogue.language.code,
            end_session=conversation.end_session,
            forget_chat=conversation.forget_chat,
        )

    async def _save(
        self,
        conversation: Conversation,
        seen: tuple[str, dt.datetime] | None,
        carried_from: str | None,
    ) -> str | None:
        """Commit the turn: in its own transaction if it touched tickets, else by group commit.

        Returns the version token to cache the saved state under (None: do not cache).
        """
        session = conversation.opened_session
        if session is None:
            return await self._writer.save(conversation.contact, seen)
        alias = conversation.contact.alias
        if not conversation.end_session:
            await session.merge(conversation.contact)
        if seen is not None:
            session.add(SeenMessage(key=seen[0], expires_at=seen[1]))
        marks = await self._versions.before_write(
            [alias] if carried_from is None else [alias, carried_from]
        )
        await session.commit()
        tokens = await self._versions.after_write(marks, [seen[0]] if seen else [])
        return tokens.get(alias)

    async def set_opt_out(self, alias: str, opted_out: bool) -> None:
        """Record a carrier opt-out (STOP) or opt-in (START) for this alias.

        Every worker's cached state for the alias is invalidated before the commit.
        """
        marks = await self._versions.before_write([alias])
        async with transaction(self._sessions) as session:
            contact = await session.get(Contact, alias)
            if contact is None and opted_out:
                contact = contact_of(
                    {"alias": alias, "channel": "sms", "language": "en", "country": ""}
                )
            if contact is not None:
                await self._record_opt_out(session, contact, opted_out)
        tokens = await self._versions.after_write(marks)
        if contact is not None:
            self._cache.put(contact, tokens.get(alias))

    async def _record_opt_out(
        self, session: AsyncSession, contact: Contact, opted_out: bool
    ) -> None:
        contact.opted_out = opted_out
        contact.last_seen = self._clock()
        if opted_out and contact.ticket_id is not None:
            ticket = await session.get(Ticket, contact.ticket_id)
            if ticket is not None and ticket.status != TicketStatus.CLOSED:
                await self.queue.leave(session, ticket, self._clock())
            contact.ticket_id = None
            contact.state = State.NEW
        session.add(contact)

    async def saved_states(self, aliases: tuple[str, str | None]) -> list[Contact]:
        """The person's saved state under this period's alias and under the previous
        period's (either may be missing), this period's first, in one read."""
        return await self._people.contacts([alias for alias in aliases if alias])

    async def language_of(self, alias: str, fallback: str | None = None) -> Catalogue:
        async with self._sessions() as session:
            contact = await session.get(Contact, alias)
        if contact is not None:
            return catalogue(contact.language)
        return catalogue(language_for_telegram(fallback) or "en")

    # --- one turn ------------------------------------------------------------------

    async def _converse(self, conversation: Conversation, fresh: bool) -> None:
        """Run the turn: the topics registered on the router decide, in their order."""
        conversation.ticket = await self._open_ticket(conversation, conversation.contact)
        await self._router.dispatch(conversation, fresh=fresh)

    # --- state -----------------------------------------------------------------------

    async def _load(self, inbound: Inbound, now: dt.datetime) -> tuple[Contact, bool, str | None]:
        """Return the person's state, whether a new session starts, and an alias to carry over."""
        contact = await self._people.contact(inbound.alias)
        carried_from = None
        if contact is None and inbound.previous_alias:
            old = await self._people.contact(inbound.previous_alias)
            if old is not None:
                fields = {name: getattr(old, name) for name in Contact.model_fields}
                contact = contact_of(fields | {"alias": inbound.alias})
                carried_from = inbound.previous_alias
        if contact is None:
            return self._new_contact(inbound, now), True, None
        return (*self._resume(contact, now), carried_from)

    async def _already_seen(self, key: str) -> bool:
        async with self._reads() as reads:
            return await reads.get(SeenMessage, key) is not None

    def _resume(self, contact: Contact, now: dt.datetime) -> tuple[Contact, bool]:
        """Return the state and whether a new session starts (after 15 silent minutes)."""
        if now - contact.last_seen > self._idle and contact.ticket_id is None:
            # A silent conversation closed; this is a new session that keeps only the
            # language, country and discreet choice.
            contact.state = State.NEW
            contact.session_started = now
            contact.concern = False
            contact.asked = None
            return contact, True
        return contact, contact.state == State.NEW

    async def _carry_over(self, session: AsyncSession, old_alias: str, moved: Contact) -> None:
        """Move state made under the previous alias key to the current alias."""
        await session.exec(delete(Contact).where(col(Contact.alias) == old_alias))
        if moved.ticket_id is not None:
            ticket = await session.get(Ticket, moved.ticket_id)
            if ticket is not None:
                ticket.contact_alias = moved.alias
                session.add(ticket)

    def _new_contact(self, inbound: Inbound, now: dt.datetime) -> Contact:
        hint = inbound.country()
        country = (hint or "").upper()
        if country not in self._directory.countries:
            # The SIM's country is a guess (many write from abroad); no country is "" and
            # never a default, which would give someone another country's numbers.
            country = ""
        language = (
            guess_language(inbound.text, hint)
            or language_for_telegram(inbound.language_hint)
            or language_for_country(hint)
        )
        contact = contact_of(
            {
                "alias": inbound.alias,
                "channel": inbound.channel,
                "language": language or "en",
                "country": country,
                "state": State.NEW,
                "session_started": now,
                "last_seen": now,
            }
        )
        if language is None:
            # Unknown language: English, and the start handler offers the language menu.
            contact.state = State.CHOOSING_LANGUAGE
        return contact

    async def _open_ticket(self, conversation: Conversation, contact: Contact) -> Ticket | None:
        if contact.ticket_id is None:
            return None
        ticket = await conversation.session.get(Ticket, contact.ticket_id)
        if ticket is None or ticket.status == TicketStatus.CLOSED:
            contact.ticket_id = None
            if contact.state in (State.QUEUED, State.CONNECTED):
                contact.state = State.MAIN_MENU
            return None
        return ticket

    async def _erase(self, session: AsyncSession, contact: Contact) -> None:
        """Forget this person now: their state, their ticket's link, their chat ids."""
        if contact.ticket_id is not None:
            ticket = await session.get(Ticket, contact.ticket_id)
            if ticket is not None and ticket.status != TicketStatus.CLOSED:
                await self.queue.leave(session, ticket, self._clock())
        await session.exec(delete(ChatMessageId).where(col(ChatMessageId.alias) == contact.alias))
        await session.exec(delete(Contact).where(col(Contact.alias) == contact.alias))
        if contact.discreet:
            # The person chose discreet wording; leaving fast or erasing must not undo
            # that choice, or the next message would name the line. Only the choice stays.
            session.add(self._discreet_only(contact))

    def _discreet_only(self, contact: Contact) -> Contact:
        return contact_of(
            {
                "alias": contact.alias,
                "channel": contact.channel,
                "language": contact.language,
                "country": contact.country,
                "discreet": True,
                "state": State.NEW,
                "session_started": self._clock(),
                "last_seen": self._clock(),
            }
        )

    def _count(self, conversation: Conversation, now: dt.datetime, fresh: bool) -> None:
        contact = conversation.contact
        metrics = ["message"] + ([f"topic:{conversation.topic}"] if conversation.topic else [])
        for metric in metrics:
            self._counts.add(
                day=now.date(), channel=contact.channel, language=contact.language, metric=metric
            )
        if fresh:
            # A new session is one contact; its country is a directory code or "" (unknown).
            self._counts.add(
                day=now.date(),
                channel=contact.channel,
                language=contact.language,
                country=contact.country,
                metric="contact",
            )


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite may hand back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
