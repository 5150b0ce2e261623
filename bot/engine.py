"""The conversation engine: one inbound message in, the replies out.

Channel-neutral: it imports no web framework and no provider library. It loads the
person's state by alias, puts danger first, applies the keywords every language
shares, then lets the topic handlers registered on the router answer.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.aliases import AliasKeys
from bot.contact_cache import ContactCache, SeenIds
from bot.conversation import Conversation, Router
from bot.counts import Counts
from bot.db import SessionFactory, transaction
from bot.dedup import DeliveryClaims
from bot.hotlines import Directory
from bot.i18n import Catalogue, catalogue, language_for_country, language_for_telegram, normalise
from bot.language_detect import guess_language
from bot.models import ChatMessageId, Contact, SeenMessage, Ticket, utcnow
from bot.queue import Queue
from bot.settings import Settings
from bot.state_writer import StateWriter
from bot.states import State, TicketStatus
from bot.types import Address, Channel, Inbound, Turn

log = logging.getLogger(__name__)

SEEN_ID_TTL = dt.timedelta(hours=2)
ANY_TIME = frozenset({"exit", "forget"})
"""Choices that act at once, even as the first message of a session or in a live chat."""
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
    ) -> None:
        self._claims = claims or DeliveryClaims(None, namespace="")
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

    async def drain(self) -> None:
        """Finish saving the state of turns in flight (at shutdown)."""
        await self._writer.drain()

    async def identify(self, channel: Channel, user_id: str) -> tuple[str, str | None]:
        """Return (alias, previous-period alias) for a channel's user id. The id is not kept."""
        return await self._aliases.aliases(self._sessions, channel, user_id, self._clock())

    async def start(self) -> None:
        """Hold people's state and the message ids handled (when this process is the only one)."""
        await self._seen_ids.load(self._sessions, self._clock())
        await self._cache.load(self._sessions, self._clock())

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
        if seen is not None and not await self._claims.claim(seen[0]):  # bot/dedup.py
            return Turn((), duplicate=True)
        try:
            return await self._turn(inbound, seen, now)
        except BaseException:
            if remembered and seen is not None:
                self._seen_ids.release(seen[0])  # the carrier's redelivery must be answered
            if seen is not None:
                await self._claims.release(seen[0])
            raise

    async def _turn(
        self, inbound: Inbound, seen: tuple[str, dt.datetime] | None, now: dt.datetime
    ) -> Turn:
        cached = self._cache.get(inbound.alias, now)
        newcomer = (
            cached is None
            and self._cache.known_absent(inbound.alias)
            and (inbound.previous_alias is None or self._cache.known_absent(inbound.previous_alias))
        )
        ask_seen = seen is not None and not self._seen_ids.enabled
        if newcomer and not ask_seen:
            contact, fresh, carried_from = self._new_contact(inbound, now), True, None
        elif cached is not None and not ask_seen:
            contact, fresh, carried_from = (*self._resume(cached, now), None)
        else:
            async with self._sessions() as reads:
                if ask_seen and seen is not None and await _already_seen(reads, seen[0]):
                    return Turn((), duplicate=True)
                if cached is not None:
                    contact, fresh, carried_from = (*self._resume(cached, now), None)
                else:
                    contact, fresh, carried_from = await self._load(reads, inbound, now)
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
            await self._save(conversation, seen)
            if conversation.end_session:
                self._cache.drop(contact.alias)
            else:
                self._cache.put(contact)
            if carried_from is not None:
                self._cache.drop(carried_from)
        except IntegrityError:
            # The same provider message id arrived twice at once; the other copy answers.
            log.info("concurrent duplicate delivery channel=%s", inbound.channel)
            return Turn((), duplicate=True)
        finally:
            if conversation.opened_session is not None:
                await conversation.opened_session.close()
        self._count(conversation, now)
        if conversation.queue_changed:
            await self.queue.announce()
        return Turn(
            tuple(conversation.replies),
            language=conversation.catalogue.language.code,
            end_session=conversation.end_session,
            forget_chat=conversation.forget_chat,
        )

    async def _save(self, conversation: Conversation, seen: tuple[str, dt.datetime] | None) -> None:
        """Commit the turn: in its own transaction if it touched tickets, else by group commit."""
        session = conversation.opened_session
        if session is None:
            await self._writer.save(conversation.contact, seen)
            return
        if not conversation.end_session:
            await session.merge(conversation.contact)
        if seen is not None:
            session.add(SeenMessage(key=seen[0], expires_at=seen[1]))
        await session.commit()

    async def set_opt_out(self, alias: str, opted_out: bool) -> None:
        """Record a carrier opt-out (STOP) or opt-in (START) for this alias."""
        async with transaction(self._sessions) as session:
            contact = await session.get(Contact, alias)
            if contact is None:
                if not opted_out:
                    return
                contact = Contact(
                    alias=alias, channel="sms", language="en", country=self.settings.default_country
                )
            contact.opted_out = opted_out
            contact.last_seen = self._clock()
            if opted_out and contact.ticket_id is not None:
                ticket = await session.get(Ticket, contact.ticket_id)
                if ticket is not None and ticket.status != TicketStatus.CLOSED:
                    await self.queue.leave(session, ticket, self._clock())
                contact.ticket_id = None
                contact.state = State.NEW
            session.add(contact)
        self._cache.put(contact)

    async def is_opted_out(self, alias: str) -> bool:
        async with self._sessions() as session:
            contact = await session.get(Contact, alias)
            return bool(contact and contact.opted_out)

    async def language_of(self, alias: str, fallback: str | None = None) -> Catalogue:
        async with self._sessions() as session:
            contact = await session.get(Contact, alias)
        if contact is not None:
            return catalogue(contact.language)
        return catalogue(language_for_telegram(fallback) or "en")

    # --- one turn ------------------------------------------------------------------

    async def _converse(self, conversation: Conversation, fresh: bool) -> None:
        inbound, contact, words = conversation.inbound, conversation.contact, conversation.catalogue
        said = normalise(inbound.text)
        ticket = await self._open_ticket(conversation, contact)

        if _contains_danger(said, words):
            conversation.say("danger.reply")
            conversation.urgent = True
            conversation.topic = "danger"
            if ticket is not None:
                await self.queue.mark_urgent(conversation.session, ticket)
                conversation.queue_changed = True

        if inbound.has_media:
            await self._router.run(conversation, "media")
            if not said:
                # Nothing to act on but the picture: carry on where the person was.
                if fresh:
                    await self._router.run(conversation, "start")
                elif contact.state not in (State.CONNECTED, State.QUEUED):
                    await self._router.run(conversation, "menu")
                return

        if (
            ticket is not None
            and ticket.status == TicketStatus.ACTIVE
            and contact.state == State.CONNECTED
        ):
            await self._live(conversation, ticket, said)
            return

        keyword = self._keyword_payload(said, words, has_ticket=ticket is not None)
        if fresh and keyword not in ANY_TIME and inbound.choice not in ANY_TIME:
            await self._router.run(conversation, "start")
            return

        if ticket is not None:
            await self.queue.refresh(
                conversation.session, ticket, inbound.address, conversation.now
            )

        payload = keyword or inbound.choice or self._numbered_choice(conversation, said)
        if payload is not None and await self._router.run(conversation, payload):
            return
        handler = self._router.text_handler(contact.state)
        if handler is not None and await handler(conversation):
            return
        if conversation.urgent:
            await self._router.run(conversation, "menu")
            return
        await self._router.run(conversation, "fallback")

    async def _live(self, conversation: Conversation, ticket: Ticket, said: str) -> None:
        """In a live chat everything typed goes to the advocate, except the exit and leave words.

        Buttons and commands (a choice) are not words the person wrote to the advocate:
        only forget and exit act; a shared location or a menu press is not passed on.
        """
        inbound = conversation.inbound
        leaving = inbound.choice if inbound.choice in ANY_TIME else None
        if leaving is None and _is_word(said, conversation.catalogue, "keywords.exit"):
            leaving = "exit"
        if leaving is None and _is_word(said, conversation.catalogue, "keywords.leave_queue"):
            leaving = "talk:leave"  # the consent message promises this word ends the chat
        if leaving is not None:
            await self._router.run(conversation, leaving)
            return
        await self.queue.refresh(conversation.session, ticket, inbound.address, conversation.now)
        if inbound.choice is None and inbound.text.strip():
            await self.queue.relay_from_person(ticket, inbound.text)
            conversation.topic = conversation.topic or "relay"

    def _keyword_payload(self, said: str, words: Catalogue, *, has_ticket: bool) -> str | None:
        keywords = [
            ("keywords.exit", "exit"),
            ("keywords.forget", "forget"),
            ("keywords.menu", "menu"),
            ("keywords.back", "menu"),
            ("keywords.language", "language"),
            ("keywords.help", "help"),
            ("keywords.discreet", "discreet"),
            ("keywords.talk", "talk"),
        ]
        if has_ticket:
            keywords.insert(0, ("keywords.leave_queue", "talk:leave"))
        for key, payload in keywords:
            if _is_word(said, words, key):
                return payload
        return None

    def _numbered_choice(self, conversation: Conversation, said: str) -> str | None:
        if not said.isdecimal():
            return None
        options = self._router.options(conversation)
        index = int(said) - 1
        return options[index].payload if 0 <= index < len(options) else None

    # --- state -----------------------------------------------------------------------

    async def _load(
        self, reads: AsyncSession, inbound: Inbound, now: dt.datetime
    ) -> tuple[Contact, bool, str | None]:
        """Return the person's state, whether a new session starts, and an alias to carry over."""
        contact = await reads.get(Contact, inbound.alias)
        carried_from = None
        if contact is None and inbound.previous_alias:
            old = await reads.get(Contact, inbound.previous_alias)
            if old is not None:
                fields = {name: getattr(old, name) for name in Contact.model_fields}
                contact = Contact(**(fields | {"alias": inbound.alias}))
                carried_from = inbound.previous_alias
        if contact is None:
            return self._new_contact(inbound, now), True, None
        return (*self._resume(contact, now), carried_from)

    def _resume(self, contact: Contact, now: dt.datetime) -> tuple[Contact, bool]:
        """Return the state and whether a new session starts (after 15 silent minutes)."""
        if now - contact.last_seen > self._idle and contact.ticket_id is None:
            # A silent conversation closed; this is a new session that keeps only the
            # language, country and discreet choice.
            contact.state = State.NEW
            contact.session_started = now
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
        country = (inbound.country_hint or "").upper()
        if country not in self._directory.countries:
            country = self.settings.default_country
        language = (
            guess_language(inbound.text)
            or language_for_telegram(inbound.language_hint)
            or language_for_country(inbound.country_hint)
        )
        contact = Contact(
            alias=inbound.alias,
            channel=inbound.channel,
            language=language or "en",
            country=country,
            state=State.NEW,
            session_started=now,
            last_seen=now,
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

    def _count(self, conversation: Conversation, now: dt.datetime) -> None:
        contact = conversation.contact
        metrics = ["message"] + ([f"topic:{conversation.topic}"] if conversation.topic else [])
        for metric in metrics:
            self._counts.add(
                day=now.date(), channel=contact.channel, language=contact.language, metric=metric
            )


async def _already_seen(reads: AsyncSession, key: str) -> bool:
    return await reads.get(SeenMessage, key) is not None


def _is_word(said: str, words: Catalogue, key: str) -> bool:
    """True when the whole message is one of the keywords, in the person's language or English."""
    if said in words.words(key):
        return True
    return words.fallback is not None and said in words.fallback.words(key)


def _contains_danger(said: str, words: Catalogue) -> bool:
    phrases = words.words("keywords.danger") + (
        words.fallback.words("keywords.danger") if words.fallback else ()
    )
    padded = f" {said} "
    for phrase in phrases:
        if _unspaced_script(phrase):
            if phrase in said:
                return True
        elif f" {phrase} " in padded or _word_boundary_match(said, phrase):
            return True
    return False


def _unspaced_script(text: str) -> bool:
    """Chinese and Thai do not separate words with spaces: match them as substrings."""
    return any("\u4e00" <= char <= "\u9fff" or "\u0e00" <= char <= "\u0e7f" for char in text)


def _word_boundary_match(said: str, phrase: str) -> bool:
    start = said.find(phrase)
    while start != -1:
        end = start + len(phrase)
        before_ok = start == 0 or not said[start - 1].isalnum()
        after_ok = end == len(said) or not said[end].isalnum()
        if before_ok and after_ok:
            return True
        start = said.find(phrase, start + 1)
    return False
