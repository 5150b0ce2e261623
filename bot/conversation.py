"""What a handler works with: one turn of one person's conversation.

Handlers read the person's state and language from here and answer with ``say`` and
``show_menu``. They never see a phone number or chat id, and nothing they are given
is stored except the contact's state fields.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import SessionFactory
from bot.hotlines import Country, Directory, Number
from bot.i18n import Catalogue
from bot.line_words import line_placeholders
from bot.models import Contact
from bot.settings import Settings
from bot.states import State
from bot.types import Button, Inbound, Reply

if TYPE_CHECKING:
    from bot.queue import Queue


@dataclass(frozen=True, slots=True)
class Option:
    """One menu entry: a payload and either a catalogue key or a literal label."""

    payload: str
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
    _session: AsyncSession | None = field(default=None, repr=False)

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
        return self.directory.country(self.contact.country, self.settings.default_country)

    def t(self, key: str, **params: str) -> str:
        return self.catalogue.text(key, discreet=self.contact.discreet, **params)

    def say(self, key: str, **params: str) -> None:
        self.say_text(self.t(key, **self.standard_params() | params))

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
        buttons = [Button(label=self.label(option), payload=option.payload) for option in options]
        self.say_text(self.t(title_key, **self.standard_params()), buttons)

    def label(self, option: Option) -> str:
        if option.label is not None:
            return option.label
        assert option.key is not None
        return self.t(option.key)

    def standard_params(self) -> dict[str, str]:
        """Placeholders every message may use, filled from the hotline directory."""
        country = self.country
        return {
            "emergency": _dial(country.urgent_number()),
            "hotline": _dial(country.main_line()),
            "child_line": _dial(country.child_line()),
            "exit_word": self.catalogue.first_word("keywords.exit"),
            "leave_word": self.catalogue.first_word("keywords.leave_queue"),
            "country": self.catalogue.country_name(country.code),
        } | line_placeholders(self.catalogue, country)


def _dial(number: Number | None) -> str:
    return number.dial if number is not None else "-"


Action = Callable[[Conversation, str], Awaitable[None]]
"""Handles a chosen payload; the argument is the part after ``topic:`` (may be empty)."""

TextHandler = Callable[[Conversation], Awaitable[bool]]
"""Handles free text in a state; returns False to fall through to the fallback."""

MenuBuilder = Callable[[Conversation], Sequence[Option]]


class Router:
    """The one place where topics register what they answer."""

    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}
        self._menus: dict[State, tuple[MenuBuilder, str]] = {}
        self._text: dict[State, TextHandler] = {}

    def action(self, topic: str, handler: Action) -> None:
        if topic in self._actions:
            raise ValueError(f"topic {topic!r} registered twice")
        self._actions[topic] = handler

    def menu(self, state: State, builder: MenuBuilder, title_key: str = "menu.main.title") -> None:
        self._menus[state] = (builder, title_key)

    def text(self, state: State, handler: TextHandler) -> None:
        self._text[state] = handler

    def options(self, conversation: Conversation) -> Sequence[Option]:
        found = self._menus.get(conversation.contact.state)
        return found[0](conversation) if found is not None else ()

    def title(self, state: State) -> str:
        found = self._menus.get(state)
        return found[1] if found is not None else "menu.main.title"

    def find_action(self, payload: str) -> tuple[Action, str] | None:
        topic, _, argument = payload.partition(":")
        handler = self._actions.get(topic)
        return (handler, argument) if handler is not None else None

    def text_handler(self, state: State) -> TextHandler | None:
        return self._text.get(state)

    async def run(self, conversation: Conversation, payload: str) -> bool:
        found = self.find_action(payload)
        if found is None:
            return False
        handler, argument = found
        await handler(conversation, argument)
        return True
