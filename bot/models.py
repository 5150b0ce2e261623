"""Every table the help line has. None of them holds what anyone wrote.

Contacts are keyed by alias (a keyed hash of channel and user id); the only way back
to a person is the encrypted reply address on an open ticket, erased when it closes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import Index, text
from sqlalchemy.orm import class_mapper
from sqlalchemy.orm.instrumentation import ClassManager, manager_of_class
from sqlmodel import AutoString, Field, SQLModel

from bot.i18n import variants
from bot.states import Role, State, TicketStatus


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Contact(SQLModel, table=True):
    """A person's place in the conversation: no words, no number."""

    alias: str = Field(primary_key=True, max_length=64)
    channel: str = Field(max_length=16)
    language: str = Field(max_length=8)
    country: str = Field(max_length=2)
    """Where the person is: "" while unknown (never a default country)."""
    country_said: bool = False
    """The person told us the country; otherwise it is only their SIM's, a guess."""
    state: State = Field(default=State.NEW, sa_type=AutoString(32))
    discreet: bool = False
    opted_out: bool = False
    ticket_id: int | None = Field(default=None, index=True)
    session_started: dt.datetime = Field(default_factory=utcnow)
    last_seen: dt.datetime = Field(default_factory=utcnow, index=True)
    last_queue_notice: dt.datetime | None = None
    concern: bool = False
    """Danger or exploitation was described this session: a ticket opened now is urgent."""
    asked: str | None = Field(default=None, max_length=120)
    """The payloads of a question just asked ("did you mean …?"): payload names, no words."""


_CONTACT_FIELDS = tuple(Contact.model_fields)
_CONTACT_REQUIRED = frozenset(n for n, f in Contact.model_fields.items() if f.is_required())
_CONTACT_DEFAULTS = {
    n: f.default
    for n, f in Contact.model_fields.items()
    if not f.is_required() and f.default_factory is None
}
_CONTACT_FACTORIES = {
    n: f.default_factory for n, f in Contact.model_fields.items() if f.default_factory is not None
}


def contact_of(values: Mapping[str, Any]) -> Contact:
    """A person's state built as the ORM builds a row it loads: the fields straight in.

    ``Contact(...)`` (a table model: it validates nothing either) sets each of its 14
    fields through SQLModel's and SQLAlchemy's attribute events: about 40 µs, the
    largest single cost of a newcomer's turn and of every returning person's (the
    contact cache builds one per turn). This takes about 3 µs, and its result is a
    transient Contact like any other: a session adds or merges it, the state writer
    and the cache read its fields, later assignments are tracked as usual.
    """
    unknown = values.keys() - _CONTACT_FIELDS
    missing = _CONTACT_REQUIRED - values.keys()
    if unknown or missing:
        raise TypeError(f"Contact fields unknown {sorted(unknown)}, missing {sorted(missing)}")
    fields = _CONTACT_DEFAULTS | {
        name: make()  # type: ignore[call-arg]
        for name, make in _CONTACT_FACTORIES.items()
        if name not in values
    }
    fields.update(values)
    contact = _contact_manager().new_instance()
    contact.__dict__.update({name: fields[name] for name in _CONTACT_FIELDS})
    object.__setattr__(contact, "__pydantic_fields_set__", set(values))
    return contact


def contact_values(contact: Contact) -> dict[str, Any]:
    """Every field of ``contact`` by name, read from the instance itself.

    An instrumented attribute read costs about 0.25 µs and the contact cache and the
    state writer read all 14 fields every turn; an expired field still loads as usual.
    """
    held = contact.__dict__
    return {
        name: held[name] if name in held else getattr(contact, name) for name in _CONTACT_FIELDS
    }


@cache
def _contact_manager() -> ClassManager[Contact]:
    class_mapper(Contact)  # configures the mappers first, as ``Contact(...)`` would
    return manager_of_class(Contact)


class AliasKey(SQLModel, table=True):
    """One rotation period's alias key, wrapped with the server secret; destroyed after use."""

    __tablename__ = "alias_key"

    epoch: int = Field(primary_key=True)
    wrapped_key: bytes
    created_at: dt.datetime = Field(default_factory=utcnow)


class SeenMessage(SQLModel, table=True):
    """A provider message id already handled: the id only, kept briefly."""

    __tablename__ = "seen_message"

    key: str = Field(primary_key=True, max_length=128)
    expires_at: dt.datetime = Field(index=True)


class Ticket(SQLModel, table=True):
    """A request to talk to a person. Metadata only; the address is encrypted and short-lived."""

    # At most one ticket that is not closed per person (migration 0003_ops).
    __table_args__ = (
        Index(
            "ix_ticket_one_open_per_contact",
            "contact_alias",
            unique=True,
            sqlite_where=text("status != 'closed'"),
            postgresql_where=text("status != 'closed'"),
        ),
        # The line in the console's order, read a page at a time (migration 0005_queue_pages).
        Index("ix_ticket_line", "status", "urgent", "created_at", "id", "language"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_alias: str | None = Field(default=None, max_length=64, index=True)
    public_alias: str = Field(max_length=40)
    channel: str = Field(max_length=16)
    language: str = Field(max_length=8)
    country: str = Field(max_length=2)
    urgent: bool = False
    status: TicketStatus = Field(default=TicketStatus.WAITING, sa_type=AutoString(16), index=True)
    created_at: dt.datetime = Field(default_factory=utcnow)
    claimed_at: dt.datetime | None = None
    closed_at: dt.datetime | None = Field(default=None, index=True)
    hold_until: dt.datetime | None = None
    advocate_id: int | None = Field(default=None, foreign_key="advocate.id", index=True)
    address_ciphertext: bytes | None = None
    outcomes: str = Field(default="", max_length=200)


class Advocate(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    password_hash: str = Field(max_length=200)
    totp_secret_ciphertext: bytes
    totp_last_step: int = 0
    role: Role = Field(default=Role.ADVOCATE, sa_type=AutoString(16))
    languages: str = Field(default="en", max_length=100)
    failed_logins: int = 0
    locked_until: dt.datetime | None = None
    active: bool = True
    online_until: dt.datetime | None = None
    """Set by the console's heartbeat; an advocate is online while this is in the future."""
    max_chats: int = 3
    console_language: str = Field(default="", max_length=8)
    """The language of this advocate's console ("" until they choose: their first language)."""
    console_timezone: str = Field(default="", max_length=64)
    """The IANA time zone the console shows this advocate's times in ("": the line's default)."""
    created_at: dt.datetime = Field(default_factory=utcnow)

    def language_codes(self) -> tuple[str, ...]:
        """The languages this advocate reads; one who reads ``pt`` reads ``pt_PT`` too."""
        own = [code for code in self.languages.split(",") if code]
        return tuple(dict.fromkeys(variant for code in own for variant in variants(code)))


class ConsoleSession(SQLModel, table=True):
    """A server-side console session; the cookie holds a token whose hash is the key."""

    __tablename__ = "console_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    advocate_id: int = Field(foreign_key="advocate.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_seen: dt.datetime = Field(default_factory=utcnow)
    revoked_at: dt.datetime | None = None


class AuditEvent(SQLModel, table=True):
    """Who did what and when in the console: never what was said."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    advocate_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=40)
    ticket_id: int | None = None
    detail: str = Field(default="", max_length=120)
    """A content-free code (an outcome code, a target advocate id); never free text."""


class DailyCount(SQLModel, table=True):
    """Aggregate counters: the only history the help line keeps."""

    __tablename__ = "daily_count"

    day: dt.date = Field(primary_key=True)
    channel: str = Field(primary_key=True, max_length=16)
    language: str = Field(primary_key=True, max_length=8)
    country: str = Field(default="", primary_key=True, max_length=2)
    """Where the people counted are (ISO 3166 code), "" when unknown or not counted by place."""
    metric: str = Field(primary_key=True, max_length=40)
    count: int = 0


class ChatMessageId(SQLModel, table=True):
    """Telegram message ids in a chat, kept 48 hours so the person can wipe the chat."""

    __tablename__ = "chat_message_id"

    alias: str = Field(primary_key=True, max_length=64)
    message_id: int = Field(primary_key=True)
    sent_at: dt.datetime = Field(default_factory=utcnow, index=True)


class CarrierRecord(SQLModel, table=True):
    """A message record still to delete at Twilio: its id, never whose or what it was.

    Written by ``bot.channels.carrier_cleanup`` so that no record is forgotten when a
    worker stops or dies; the row goes once Twilio confirms the deletion.
    """

    __tablename__ = "carrier_record"

    sid: str = Field(primary_key=True, max_length=34)
    """Twilio's message id (SM or MM and 32 hex digits): nothing else about the message."""
    queued_at: dt.datetime = Field(default_factory=utcnow)
    claimed_at: dt.datetime | None = Field(default=None, index=True)
    """When a worker last said it is deleting this record; None: nobody is (left at a stop)."""
