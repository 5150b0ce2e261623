"""Person state and seen message ids held in memory, when this process is the only one.

With the in-process relay the help line is one process, so it sees every message and
every change a turn makes: a person's state can be answered from memory instead of a
database read, and a redelivered message id recognised without one. Anything that
changes a person outside a turn goes through a ticket (claims, closes, queue news),
so state is cached only while a person has no ticket. The state of the newest people
is held; everyone else the database holds is held by alias only, so a newcomer is
recognised without a read however large the line grows (up to ``known_capacity``
people). An entry lives no longer than the person-state retention window, so memory
never keeps what the database has already forgotten.

With Redis (several workers, ``shared``) each worker keeps its own entries, each with
the version token Redis held for that person when it was stored; an entry is used
only when the token read at the start of the turn is the same (``bot/coherence.py``
says why that is never stale). A shared cache is never complete: someone unknown here
may have been met by another worker, so a newcomer costs a read.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from typing import Any

from sqlmodel import col, select

from bot.db import SessionFactory
from bot.models import Contact, SeenMessage, contact_of, contact_values

_FIELDS = tuple(Contact.model_fields)
_LAST_SEEN = _FIELDS.index("last_seen")
_TICKET_ID = _FIELDS.index("ticket_id")
_TOKEN = len(_FIELDS)
Snapshot = tuple[Any, ...]
"""A person's fields in ``_FIELDS`` order, then the version token: a tuple is a fifth
of a dict's memory."""


def _snapshot(contact: Contact, token: str) -> Snapshot:
    return (*contact_values(contact).values(), token)


class ContactCache:
    """People's state for the newest ``capacity`` people; for everyone else, their alias.

    The state part is what saves a read when someone writes again. The alias part (alias
    and last-seen time only, a third of an entry's memory) is what keeps "known
    absent" a memory check for a line larger than the state part: without it, every
    newcomer to a line of 100,000 people cost a database read. Both parts are in
    last-seen order and let go of people past the retention window the same way.
    """

    def __init__(
        self,
        *,
        enabled: bool,
        keep_for: dt.timedelta,
        capacity: int = 20_000,
        known_capacity: int = 200_000,
        shared: bool = False,
    ) -> None:
        self.enabled = enabled
        self.shared = shared
        """Several workers: entries are trusted only with a matching version token."""
        self._keep_for = keep_for
        self._capacity = capacity
        self._known_capacity = 0 if shared else known_capacity
        self._contacts: OrderedDict[str, Snapshot] = OrderedDict()
        self._known: OrderedDict[str, dt.datetime] = OrderedDict()
        """People whose state did not fit (alias to last seen): never someone in
        ``_contacts``. A shared cache keeps none, as it is never complete."""
        self.complete = False
        """Every person the database holds is here: an alias not here is someone new."""

    async def load(self, sessions: SessionFactory, now: dt.datetime) -> int:
        """Hold everyone the database still holds, so a newcomer costs no read."""
        if not self.enabled or self.shared:
            return 0
        recent = col(Contact.last_seen) > now - self._keep_for
        limit = self._capacity + self._known_capacity
        async with sessions() as session:
            # The newest people's state, then everyone's alias: the rest need no more.
            rows = await session.exec(
                select(Contact)
                .where(recent)
                .order_by(col(Contact.last_seen).desc())
                .limit(self._capacity)
            )
            contacts = rows.all()
            known = await session.exec(
                select(Contact.alias, Contact.last_seen)
                .where(recent)
                .order_by(col(Contact.last_seen))
                .limit(limit + 1)
            )
            everyone = known.all()
        for contact in reversed(contacts):
            self._contacts[contact.alias] = _snapshot(contact, "")
        self.complete = len(everyone) <= limit
        if self.complete:  # otherwise aliases would save no read
            for alias, last_seen in everyone:
                if alias not in self._contacts:
                    self._known[alias] = last_seen
        return len(self)

    def known_absent(self, alias: str, now: dt.datetime) -> bool:
        """True when ``alias`` is certainly not in the database (a newcomer)."""
        if not self.complete or alias in self._contacts:
            return False
        last_seen = self._known.get(alias)
        if last_seen is not None and now - last_seen > self._keep_for:
            del self._known[alias]  # past the window, as in the database: someone new
            return True
        return last_seen is None

    def get(self, alias: str, now: dt.datetime, token: str | None = "") -> Contact | None:
        """A fresh copy of the cached state, or None when the database must be asked.

        ``token`` is the person's version as Redis holds it now ("" for one process,
        None when unknown): an entry stored under another version is not used.
        """
        snapshot = self._contacts.get(alias)
        if snapshot is None:
            return None
        if token is None or snapshot[_TOKEN] != token:
            return None
        if now - snapshot[_LAST_SEEN] > self._keep_for:
            del self._contacts[alias]  # past the window, as in the database: someone new
            return None
        if snapshot[_TICKET_ID] is not None:
            return None  # tickets change outside turns: ask the database
        self._contacts.move_to_end(alias)
        return contact_of(dict(zip(_FIELDS, snapshot[:_TOKEN], strict=True)))

    def put(self, contact: Contact, token: str | None = "") -> None:
        """Hold this state under ``token`` (None: the version is unknown, hold nothing)."""
        if not self.enabled:
            return
        alias = contact.alias
        if token is None:
            self._contacts.pop(alias, None)
            return
        self._known.pop(alias, None)
        self._contacts[alias] = _snapshot(contact, token)
        self._contacts.move_to_end(alias)
        # Entries are in last-seen order: drop the oldest past the window (people who
        # never wrote again, or whose alias key has rotated); over capacity, the oldest
        # state makes way and only its alias stays.
        horizon = contact.last_seen - self._keep_for
        while self._contacts:
            oldest, snapshot = next(iter(self._contacts.items()))
            if snapshot[_LAST_SEEN] < horizon:
                self._contacts.popitem(last=False)
            elif len(self._contacts) > self._capacity:
                self._contacts.popitem(last=False)
                self._remember(oldest, snapshot[_LAST_SEEN])
            else:
                break
        while self._known and next(iter(self._known.values())) < horizon:
            self._known.popitem(last=False)

    def _remember(self, alias: str, last_seen: dt.datetime) -> None:
        """Keep only the alias of someone whose state made way, while there is room."""
        if len(self._known) < self._known_capacity:
            self._known[alias] = last_seen
        else:
            # Someone still in the database is no longer here: aliases save no read now.
            self.complete = False
            self._known.clear()

    def drop(self, alias: str) -> None:
        self._contacts.pop(alias, None)
        self._known.pop(alias, None)

    def clear(self) -> None:
        """Forget every entry (Redis could not be asked: nothing here is known current)."""
        self._contacts.clear()
        self._known.clear()
        self.complete = False

    def __len__(self) -> int:
        return len(self._contacts) + len(self._known)


class SeenIds:
    """Provider message ids handled recently; authoritative only when enabled (one process)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._expiry: dict[str, dt.datetime] = {}
        self._next_prune: dt.datetime | None = None

    async def load(self, sessions: SessionFactory, now: dt.datetime) -> int:
        """Remember the ids the database still holds, so a restart forgets none."""
        if not self.enabled:
            return 0
        async with sessions() as session:
            rows = await session.exec(
                select(SeenMessage.key, SeenMessage.expires_at).where(
                    col(SeenMessage.expires_at) > now
                )
            )
            self._expiry.update({key: expires for key, expires in rows.all()})
        return len(self._expiry)

    def claim(self, key: str, expires: dt.datetime, now: dt.datetime) -> bool:
        """Record ``key``; False if it was already here (a redelivery)."""
        self._prune(now)
        known = self._expiry.get(key)
        if known is not None and known > now:
            return False
        self._expiry[key] = expires
        return True

    def release(self, key: str) -> None:
        """The turn for ``key`` failed: let the carrier's redelivery be answered."""
        self._expiry.pop(key, None)

    def _prune(self, now: dt.datetime) -> None:
        if self._next_prune is not None and now < self._next_prune:
            return
        self._expiry = {key: at for key, at in self._expiry.items() if at > now}
        self._next_prune = now + dt.timedelta(minutes=5)
