"""What a handler works with: one turn of one person's conversation.

Handlers read the person's state and language from here and answer with ``say`` and
``show_menu``. They never see a phone number or chat id, and nothing they are given
is stored except the contact's state fields.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import SessionFactory
from bot.hotlines import Country, Directory, line_params
from bot.i18n import Catalogue, normalise
from bot.line_words import line_placeholders
from bot.models import Contact, Ticket
from bot.payloads import Payload
from bot.router import Router
from bot.settings import Settings
from bot.states import State
from bot.types import Button, Inbound, Reply
from bot.understanding import Meaning, understand

if TYPE_CHECKING:
    from bot.queue import Queue

__all__ = ["Conversation", "Option", "Router"]

MENUS_HELD = 256
"""Menus whose buttons one catalogue holds (its content has a few dozen)."""


@dataclass(frozen=True, slots=True)
class Option:
    """One menu entry: a payload and either a catalogue key or a literal label."""

    payload: Payload
    key: str | None = None
    label: str | None = None


@dataclass(slots=True)
class Conversation:
    inbound: Inbound
    contact: Contact
    catalogue: Catalogue
    directory: Directory
    settings: Settings
    queue: Queue
    now: dt.datetime
    sessions: SessionFactory
    router: Router
    replies: list[Reply] = field(default_factory=list)
    end_session: bool = False
    forget_chat: bool = False
    topic: str | None = None
    """A content-free topic name for the daily counts (hotlines, safety, talk …)."""
    urgent: bool = False
    """Words of danger were in this message."""
    queue_changed: bool = False
    ticket: Ticket | None = None
    """The person's open ticket (waiting or active), loaded with their state."""
    _session: AsyncSession | None = field(default=None, repr=False)
    _meaning: Meaning | None = field(default=None, repr=False)
    _said: str | None = field(default=None, repr=False)

    @property
    def said(self) -> str:
        """The message folded for whole-message keywords and menu numbers (once a turn)."""
        if self._said is None:
            self._said = normalise(self.inbound.text)
        return self._said

    @property
    def meaning(self) -> Meaning:
        """What the message asks for, understood once per turn, in this process only."""
        if self._meaning is None:
            self._meaning = understand(self.inbound.text, self.catalogue)
        return self._meaning

    def mark_concern(self) -> None:
        """Danger or exploitation was described: a ticket opened this session is urgent."""
        self.urgent = True
        self.contact.concern = True

    @property
    def session(self) -> AsyncSession:
        """This turn's database session, opened on first use.

        A turn that only moves through the menus never opens one: its state is saved
        by the engine's group commit instead.
        """
        if self._session is None:
            self._session = self.sessions()
        return self._session

    @property
    def opened_session(self) -> AsyncSession | None:
        return self._session

    @property
    def country(self) -> Country:
        """Where the person is (said or guessed from the SIM); UNKNOWN when nobody knows."""
        return self.directory.country(self.contact.country)

    @property
    def country_guessed(self) -> bool:
        """True while the country is only the SIM's, which may not be where the person is."""
        return bool(self.contact.country) and not self.contact.country_said

    def t(self, key: str, **params: str | None) -> str:
        if not params:
            return _plain(self.catalogue, key, self.contact.discreet)
        return self.catalogue.text(key, discreet=self.contact.discreet, **params)

    def standard_text(self, key: str) -> str:
        """The text for ``key`` with the placeholders every message may use filled."""
        return self._place().text(self.catalogue, key, self.contact.discreet)

    def say(self, key: str, **params: str | None) -> None:
        text = self.t(key, **self.standard_params() | params) if params else self.standard_text(key)
        if text:  # every sentence named a line this country lacks: say nothing rather than a hole
            self.say_text(text)

    def say_text(
        self, text: str, buttons: Sequence[Button] = (), *, ephemeral: bool = False
    ) -> None:
        self.replies.append(
            Reply(
                text=text,
                buttons=tuple(buttons),
                direction=self.catalogue.language.direction,
                ephemeral=ephemeral,
            )
        )

    def show_menu(self, state: State, title_key: str, options: Sequence[Option]) -> None:
        """Move to ``state`` and show its menu: buttons on Telegram, numbered lines on SMS."""
        self.contact.state = state
        self.say_text(self.standard_text(title_key), self._buttons(tuple(options)))

    def _buttons(self, options: tuple[Option, ...]) -> tuple[Button, ...]:
        """A menu's buttons, built once per catalogue.

        Menus come from content, so there are few; but a payload read back from a button
        (the confirm question's) could be any text, so only so many are held.
        """
        menus = self.catalogue.derived(_menus)
        key = (options, self.contact.discreet)
        found = menus.get(key)
        if found is None:
            found = tuple(
                Button(label=self.label(option), payload=str(option.payload)) for option in options
            )
            if len(menus) < MENUS_HELD:
                menus[key] = found
        return found

    def label(self, option: Option) -> str:
        if option.label is not None:
            return option.label
        assert option.key is not None
        return self.t(option.key)

    def standard_params(self) -> dict[str, str | None]:
        """Placeholders every message may use, filled from the hotline directory.

        A line the country lacks is None: the sentence naming it is left out whole.
        """
        return dict(self._place().params)

    def _place(self) -> _Place:
        """This language's words about the person's country, worked out once per process."""
        country, mobile = self.country, self.directory.mobile
        places = self.catalogue.derived(_places)
        place = places.get(country.code)
        if place is None or place.country is not country or place.mobile != mobile:
            params = (
                line_params(self.catalogue, country, self.directory)
                | {
                    "exit_word": self.catalogue.first_word("keywords.exit"),
                    "leave_word": self.catalogue.first_word("keywords.leave_queue"),
                }
                | line_placeholders(self.catalogue, country)
            )
            place = places[country.code] = _Place(country, mobile, params)
        return place


@dataclass(frozen=True, slots=True)
class _Place:
    """The standard placeholders for one country in one language, and the texts filled
    with them alone (menu titles, the welcome, the danger reply).

    They depend only on the catalogue, the country's directory entry and the discreet
    choice, yet every turn rebuilt them (line lookups, fact sentences, the country's
    name, sentences dropped for missing lines). Held here, with menu labels held per
    catalogue (``_plain``), the engine's own CPU for the benchmark's SMS turn (no
    database) fell from about 210 to 150 µs. The directory entry is kept to be
    compared by identity: another directory (a test's, a reload) is never answered
    from this one's.
    """

    country: Country
    mobile: tuple[str, ...]
    params: dict[str, str | None]
    texts: dict[tuple[str, bool], str] = field(default_factory=dict)

    def text(self, words: Catalogue, key: str, discreet: bool) -> str:
        found = self.texts.get((key, discreet))
        if found is None:
            found = self.texts[(key, discreet)] = words.text(key, discreet=discreet, **self.params)
        return found


def _places(_: Catalogue) -> dict[str, _Place]:
    """One catalogue's ``_Place`` per country code ("" is the unknown country)."""
    return {}


def _menus(_: Catalogue) -> dict[tuple[tuple[Option, ...], bool], tuple[Button, ...]]:
    return {}


def _plain_texts(_: Catalogue) -> dict[tuple[str, bool], str]:
    return {}


def _plain(words: Catalogue, key: str, discreet: bool) -> str:
    """A text without placeholders filled (a menu label), built once per catalogue."""
    texts = words.derived(_plain_texts)
    found = texts.get((key, discreet))
    if found is None:
        found = texts[(key, discreet)] = words.text(key, discreet=discreet)
    return found
