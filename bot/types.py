"""Channel-neutral values that flow between the channels, the engine and the console.

Nothing in here knows about FastAPI, Twilio or Telegram. Values that carry what a
person wrote or where they can be reached keep it out of their ``repr`` so that an
accidental log line or traceback cannot print it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class Channel(StrEnum):
    SMS = "sms"
    TELEGRAM = "telegram"
    SIMULATOR = "simulator"


@dataclass(frozen=True, slots=True)
class Address:
    """Where a reply goes: a phone number or a Telegram chat id. Never printed."""

    channel: Channel
    value: str = field(repr=False)

    def __str__(self) -> str:
        return f"<{self.channel} address>"


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from a person, already verified and parsed by a channel adapter."""

    channel: Channel
    alias: str
    text: str = field(repr=False)
    previous_alias: str | None = None
    """The alias under the previous rotation key, so a conversation survives rotation."""
    address: Address | None = field(default=None, repr=False)
    choice: str | None = None
    """A button's payload (Telegram callback data, a simulator click): bypasses menu numbers."""
    language_hint: str | None = None
    country_hint: str | None = None
    locate: Callable[[], str | None] | None = field(default=None, repr=False, compare=False)
    """Works out the country hint when the engine needs it (someone new): reading a
    phone number costs more than a returning person's whole menu turn."""
    message_id: str | None = None
    """The provider's id for this message, used only to ignore a redelivery."""
    has_media: bool = False
    """A picture, voice note or file came with it; the channel never fetched it."""

    def country(self) -> str | None:
        """Where the person probably is: the channel's hint, else worked out now."""
        if self.country_hint is None and self.locate is not None:
            return self.locate()
        return self.country_hint


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to a person. ``buttons`` render as a numbered list on SMS."""

    text: str = field(repr=False)
    buttons: tuple[Button, ...] = ()
    direction: str = "ltr"
    ephemeral: bool = False
    """True for replies the channel should make easy to wipe (the quick-exit cover text)."""


@dataclass(frozen=True, slots=True)
class Turn:
    """What the engine decided for one inbound message."""

    replies: tuple[Reply, ...]
    language: str = "en"
    """The language the person is now answered in (channels size and count by it)."""
    duplicate: bool = False
    end_session: bool = False
    """The person left (quick exit, forget): channels may wipe what they can."""
    forget_chat: bool = False
    """The person asked to erase the visible conversation (Telegram can do this)."""
