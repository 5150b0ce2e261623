"""The one place where topics register what they answer, and the order a turn runs in.

Modelled on aiogram routers and python-telegram-bot handler groups: each topic module
in ``handlers/`` registers, beside its handlers, the words that trigger them
(whole-message keywords by catalogue key, intents the understanding package finds),
the words that act at any time, and pre-handlers that run before anything else
(danger first). ``dispatch`` runs one turn:

1. pre-handlers, lowest group first (danger, media, the live chat, the queue);
2. a whole-message keyword, a pressed button or a menu number;
3. on the first message of a session: the welcome, then what was understood;
4. an understood intent (or a one-line question when it could mean two things);
5. the free text a state expects (a place, a country), then free-text triggers;
6. the fallback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.payloads import ANY_TIME, Payload, Topic
from bot.states import State
from bot.understanding import Intent, Meaning

if TYPE_CHECKING:
    from bot.conversation import Conversation, Option

Action = Callable[["Conversation", str], Awaitable[None]]
"""Handles a chosen payload; the argument is the part after ``topic:`` (may be empty)."""

TextHandler = Callable[["Conversation"], Awaitable[bool]]
"""Handles free text; returns False to let the next handler try."""

PreHandler = Callable[["Conversation"], Awaitable[bool]]
"""Runs before the turn is routed; returns True when it has answered the whole turn."""

MenuBuilder = Callable[["Conversation"], Sequence["Option"]]
Condition = Callable[["Conversation"], bool]


@dataclass(frozen=True, slots=True)
class Keyword:
    key: str
    payload: Payload
    when: Condition | None = None


@dataclass(frozen=True, slots=True)
class IntentRoute:
    payload: Payload
    label: str | None
    state: State | None


class Router:
    def __init__(self) -> None:
        self._actions: dict[Topic, Action] = {}
        self._menus: dict[State, tuple[MenuBuilder, str]] = {}
        self._text: dict[State, TextHandler] = {}
        self._text_first: set[State] = set()
        self._keywords: list[Keyword] = []
        self._intents: dict[tuple[Intent, State | None], IntentRoute] = {}
        self._pre: list[tuple[int, PreHandler]] = []
        self._free_text: list[TextHandler] = []

    # --- registration -------------------------------------------------------------

    def action(self, topic: Topic, handler: Action) -> None:
        if topic in self._actions:
            raise ValueError(f"topic {topic!r} registered twice")
        self._actions[topic] = handler

    def menu(self, state: State, builder: MenuBuilder, title_key: str = "menu.main.title") -> None:
        self._menus[state] = (builder, title_key)

    def text(self, state: State, handler: TextHandler, *, before_intents: bool = False) -> None:
        """Free text in ``state``; ``before_intents``: it is heard before any intent."""
        self._text[state] = handler
        if before_intents:
            self._text_first.add(state)

    def keywords(self, key: str, payload: Payload, *, when: Condition | None = None) -> None:
        """Whole-message words (catalogue ``key``, person's language or English) mean ``payload``."""
        if not key.startswith("keywords."):
            raise ValueError(f"keyword lists live under keywords.*, not {key!r}")
        self._keywords.append(Keyword(key, payload, when))

    def intent(
        self,
        intent: Intent,
        payload: Payload,
        *,
        label: str | None = None,
        state: State | None = None,
    ) -> None:
        """An understood ``intent`` means ``payload`` (only in ``state`` when given).

        ``label`` names the choice when a message could mean two things.
        """
        if (intent, state) in self._intents:
            raise ValueError(f"intent {intent!r} registered twice for state {state!r}")
        self._intents[(intent, state)] = IntentRoute(payload, label, state)

    def pre(self, handler: PreHandler, *, group: int) -> None:
        """Run ``handler`` before routing, lower groups first (danger is group 0)."""
        self._pre.append((group, handler))
        self._pre.sort(key=lambda entry: entry[0])

    def free_text(self, handler: TextHandler) -> None:
        """Try ``handler`` on text nothing else understood (e.g. a typed country)."""
        self._free_text.append(handler)

    def check(self) -> None:
        """Fail at start-up when a trigger points at a topic nobody handles."""
        targets = [keyword.payload for keyword in self._keywords]
        targets += [route.payload for route in self._intents.values()]
        missing = sorted({str(p.topic) for p in targets if p.topic not in self._actions})
        if missing:
            raise ValueError(f"triggers point at topics without a handler: {missing}")
        for required in (Topic.START, Topic.MENU, Topic.FALLBACK):
            if required not in self._actions:
                raise ValueError(f"no handler for {required}")

    # --- lookups --------------------------------------------------------------------

    def options(self, conversation: Conversation) -> Sequence[Option]:
        found = self._menus.get(conversation.contact.state)
        return found[0](conversation) if found is not None else ()

    def title(self, state: State) -> str:
        found = self._menus.get(state)
        return found[1] if found is not None else "menu.main.title"

    def text_handler(self, state: State) -> TextHandler | None:
        return self._text.get(state)

    def label(self, payload: Payload) -> str | None:
        for route in self._intents.values():
            if route.payload == payload and route.label is not None:
                return route.label
        return None

    def keyword_payload(self, conversation: Conversation) -> Payload | None:
        """The payload of a whole-message keyword, in the person's language or English."""
        said, words = conversation.said, conversation.catalogue
        for keyword in self._keywords:
            if keyword.when is not None and not keyword.when(conversation):
                continue
            if said in words.words(keyword.key) or (
                words.fallback is not None and said in words.fallback.words(keyword.key)
            ):
                return keyword.payload
        return None

    def intent_payload(self, intent: Intent, state: State) -> Payload | None:
        route = self._intents.get((intent, state)) or self._intents.get((intent, None))
        return route.payload if route is not None else None

    async def run(self, conversation: Conversation, payload: Payload) -> bool:
        handler = self._actions.get(payload.topic)
        if handler is None:
            return False
        await handler(conversation, payload.argument)
        return True

    # --- one turn -------------------------------------------------------------------

    async def dispatch(self, conversation: Conversation, *, fresh: bool) -> None:
        """Answer one message, in the order the module docstring gives."""
        for _, handler in self._pre:
            if await handler(conversation):
                return
        chosen = (
            self.keyword_payload(conversation)
            or Payload.parse(conversation.inbound.choice)
            or self._numbered_choice(conversation)
        )
        if fresh and (chosen is None or chosen.topic not in ANY_TIME):
            await self._welcome(conversation, chosen, conversation.meaning)
            return
        # A menu number or keyword needs no understanding (most menu turns end here).
        if chosen is not None and await self.run(conversation, chosen):
            return
        meaning = conversation.meaning
        state = conversation.contact.state
        expected = self.text_handler(state)
        if expected is not None and state in self._text_first and await expected(conversation):
            return
        if await self._understood(conversation, meaning):
            return
        if expected is not None and state not in self._text_first and await expected(conversation):
            return
        for free in self._free_text:
            if await free(conversation):
                return
        fallback = Topic.MENU if conversation.urgent else Topic.FALLBACK
        await self.run(conversation, Payload(fallback))

    async def _welcome(
        self, conversation: Conversation, chosen: Payload | None, meaning: Meaning
    ) -> None:
        """The first message of a session: the welcome, then whatever it asked for."""
        wanted = chosen if chosen is not None and chosen.topic != Topic.START else None
        if wanted is None and meaning.intent is not None and meaning.intent != Intent.GREETING:
            wanted = self.intent_payload(meaning.intent, conversation.contact.state)
        if wanted is None or conversation.contact.state == State.CHOOSING_LANGUAGE:
            await self.run(conversation, Payload(Topic.START))
            return
        if wanted.topic == Topic.DISCREET:
            # Asked for in the very first message: even the welcome must be discreet.
            conversation.contact.discreet = True
        await self.run(conversation, Payload(Topic.START, "quiet"))
        await self.run(conversation, wanted)

    async def _understood(self, conversation: Conversation, meaning: Meaning) -> bool:
        state = conversation.contact.state
        if meaning.confirm is not None:
            payload = self.intent_payload(meaning.confirm, state)
            if payload is not None:
                await self.run(conversation, Payload(Topic.CONFIRM, str(payload)))
                return True
        if meaning.intent is None:
            return False
        payload = self.intent_payload(meaning.intent, state)
        if payload is None:
            return False
        if meaning.other is not None:
            other = self.intent_payload(meaning.other, state)
            if other is not None and other != payload:
                await self.run(conversation, Payload(Topic.CONFIRM, f"{payload}|{other}"))
                return True
        return await self.run(conversation, payload)

    def _numbered_choice(self, conversation: Conversation) -> Payload | None:
        said = conversation.said
        if not said.isdecimal():
            return None
        options = self.options(conversation)
        index = int(said) - 1
        return options[index].payload if 0 <= index < len(options) else None


__all__ = ["Action", "MenuBuilder", "PreHandler", "Router", "TextHandler"]
