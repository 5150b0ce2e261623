"""Person state and seen message ids held in memory, when this process is the only one.

With the in-process relay the help line is one process, so it sees every message and
every change a turn makes: a person's state can be answered from memory instead of a
database read, and a redelivered message id recognised without one. Anything that
changes a person outside a turn goes through a ticket (claims, closes, queue news),
so state is cached only while a person has no ticket. An entry lives no longer than
the person-state retention window, so memory never keeps what the database has
already forgotten.

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
from bot.models import Contact, SeenMessage

_FIELDS = tuple(Contact.model_fields)
_LAST_SEEN = _FIELDS.index("last_seen")
_TICKET_ID = _FIELDS.index("ticket_id")
_TOKEN = len(_FIELDS)
Snapshot = tuple[Any, ...]
"""A person's fields in ``_FIELDS`` order, then the version token: a tuple is a fifth
of a dict's memory."""


def _snapshot(contact: Contact, token: str) -> Snapshot:
    return (*(getattr(contact, name) for name in _FIELDS), token)


class ContactCache:
    def __init__(
        self,
        *,
        enabled: bool,
        keep_for: dt.timedelta,
        capacity: int = 50_000,
        shared: bool = False,
    ) -> None:
        self.enabled = enabled
        self.shared = shared
        """Several workers: entries are trusted only with a matching version token."""
        self._keep_for = keep_for
        self._capacity = capacity
        self._contacts: OrderedDict[str, Snapshot] = OrderedDict()
        self.complete = False
        """Every person the database holds is here: an alias not here is someone new."""

    async def load(self, sessions: SessionFactory, now: dt.datetime) -> int:
        """Hold everyone the database still holds, so a newcomer costs no read."""
        if not self.enabled or self.shared:
            return 0
        async with sessions() as session:
            rows = await session.exec(
                select(Contact)
                .where(col(Contact.last_seen) > now - self._keep_for)
                .order_by(col(Contact.last_seen))
                .limit(self._capacity + 1)
            )
            contacts = rows.all()
        for contact in contacts[: self._capacity]:
            self._contacts[contact.alias] = _snapshot(contact, "")
        self.complete = len(contacts) <= self._capacity
        return len(self._contacts)

    def known_absent(self, alias: str) -> bool:
        """True when ``alias`` is certainly not in the database (a newcomer)."""
        return self.complete and alias not in self._contacts

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
        return Contact(**dict(zip(_FIELDS, snapshot[:_TOKEN], strict=True)))

    def put(self, contact: Contact, token: str | None = "") -> None:
        """Hold this state under ``token`` (None: the version is unknown, hold nothing)."""
        if not self.enabled:
            return
        if token is None:
            self._contacts.pop(contact.alias, None)
            return
        self._contacts[contact.alias] = _snapshot(contact, token)
        self._contacts.move_to_end(contact.alias)
        # Entries are in last-seen order: drop the oldest past the window (people who
        # never wrote again, or whose alias key has rotated), and any over capacity.
        horizon = contact.last_seen - self._keep_for
        while self._contacts:
            oldest = next(iter(self._contacts.values()))
            if len(self._contacts) > self._capacity:
                self.complete = False  # someone still in the database is no longer here
            elif oldest[_LAST_SEEN] >= horizon:
                break
            self._contacts.popitem(last=False)

    def drop(self, alias: str) -> None:
        self._contacts.pop(alias, None)

    def clear(self) -> None:
        """Forget every entry (Redis could not be asked: nothing here is known current)."""
        self._contacts.clear()
        self.complete = False

    def __len__(self) -> int:
        return len(self._contacts)


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
