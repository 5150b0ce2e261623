"""The relay: how live events reach whichever worker holds the listener.

Events are small dicts. Live messages pass through in memory only: the in-process
relay hands them to local subscribers; the Redis relay (bot/redis_relay.py) uses
pub/sub, which never writes a message to disk. Nothing here stores an event.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

Event = dict[str, Any]
"""An event on the wire (JSON-able). Build ticket events from the typed classes below."""

QUEUE_TOPIC = "queue"
"""Queue changed (a ticket opened, was claimed, closed or became urgent): no content."""

log = logging.getLogger(__name__)

_SUBSCRIBER_BUFFER = 1000


def ticket_topic(ticket_id: int) -> str:
    return f"ticket:{ticket_id}"


# --- typed relay events ------------------------------------------------------------------
# Events are these frozen classes; a misspelt kind or field does not type-check,
# and parse_event() turns a wire dict back into one (or None when it is not one).


@dataclass(frozen=True, slots=True)
class _RelayEvent:
    kind: ClassVar[str] = ""

    def event(self) -> Event:
        return {
            "type": self.kind,
            **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)},
        }


@dataclass(frozen=True, slots=True)
class PersonMessage(_RelayEvent):
    """What the person wrote: held in memory until an advocate's page acknowledges it."""

    kind: ClassVar[str] = "message"
    id: str
    text: str = field(repr=False)
    cut: bool = False


@dataclass(frozen=True, slots=True)
class Ack(_RelayEvent):
    """The holder's page has this message: workers holding it let it go."""

    kind: ClassVar[str] = "ack"
    id: str


@dataclass(frozen=True, slots=True)
class Replay(_RelayEvent):
    """A page (re)opened the chat: workers send again what they still hold."""

    kind: ClassVar[str] = "replay"


@dataclass(frozen=True, slots=True)
class Missed(_RelayEvent):
    """Held messages were not seen in time; the person was told."""

    kind: ClassVar[str] = "missed"
    count: int


@dataclass(frozen=True, slots=True)
class Delivery(_RelayEvent):
    kind: ClassVar[str] = "delivery"
    ok: bool
    advocate: int


@dataclass(frozen=True, slots=True)
class Transferred(_RelayEvent):
    """The chat moved: to an advocate, or (``to`` None) back to the front of the line."""

    kind: ClassVar[str] = "transferred"
    to: int | None
    by: int | None = None


@dataclass(frozen=True, slots=True)
class Handover(_RelayEvent):
    """The transcript and notes, page to page, on a transfer. Never stored anywhere."""

    kind: ClassVar[str] = "handover"
    to: int
    lines: tuple[tuple[str, str], ...] = field(repr=False)
    notes: str = field(repr=False, default="")


@dataclass(frozen=True, slots=True)
class Closed(_RelayEvent):
    kind: ClassVar[str] = "closed"


@dataclass(frozen=True, slots=True)
class Left(_RelayEvent):
    kind: ClassVar[str] = "left"


@dataclass(frozen=True, slots=True)
class QueueChanged(_RelayEvent):
    """On the queue topic: a ticket opened, was claimed, moved or closed. No content."""

    kind: ClassVar[str] = "queue"


@dataclass(frozen=True, slots=True)
class RelayLink(_RelayEvent):
    """To local listeners only: the live link between workers dropped or came back."""

    kind: ClassVar[str] = "relay"
    connected: bool


RelayEvent = (
    PersonMessage
    | Ack
    | Replay
    | Missed
    | Delivery
    | Transferred
    | Handover
    | Closed
    | Left
    | QueueChanged
    | RelayLink
)
_EVENTS: dict[str, type[_RelayEvent]] = {
    cls.kind: cls
    for cls in (
        PersonMessage,
        Ack,
        Replay,
        Missed,
        Delivery,
        Transferred,
        Handover,
        Closed,
        Left,
        QueueChanged,
        RelayLink,
    )
}


def parse_event(event: Event) -> RelayEvent | None:
    """The typed event for a wire dict, or None if it is not a well-formed ticket event."""
    cls = _EVENTS.get(str(event.get("type")))
    if cls is None:
        return None
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(cls):
        if spec.name not in event:
            if spec.default is dataclasses.MISSING:
                return None
            continue
        value = event[spec.name]
        if spec.name == "lines":
            if not isinstance(value, list | tuple):
                return None
            value = tuple(
                (str(pair[0]), str(pair[1]))
                for pair in value
                if isinstance(pair, list | tuple) and len(pair) == 2
            )
        values[spec.name] = value
    try:
        parsed = cls(**values)
    except TypeError:
        return None
    return parsed  # type: ignore[return-value]


class Relay(Protocol):
    outages: int
    """Times the link between workers was lost (a cached state from before one is not trusted)."""

    async def publish(self, topic: str, event: Event) -> None:
        """Deliver ``event`` to every current subscriber of ``topic``, on any worker."""

    def subscribe(self, *topics: str) -> AbstractAsyncContextManager[Subscription]:
        """Return an async context manager yielding a subscription to ``topics``."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def healthy(self) -> bool: ...


class Subscription:
    """Events for one listener, read with ``async for`` or ``get``."""

    def __init__(self, topics: tuple[str, ...]) -> None:
        self.topics = topics
        self._events: asyncio.Queue[Event] = asyncio.Queue(maxsize=_SUBSCRIBER_BUFFER)

    def offer(self, event: Event) -> None:
        try:
            self._events.put_nowait(event)
        except asyncio.QueueFull:
            # A listener that stopped reading must not stall the relay for others.
            log.warning("relay subscriber buffer full; dropping event type=%s", event.get("type"))

    async def get(self) -> Event:
        return await self._events.get()

    def empty(self) -> bool:
        """True when no event is waiting to be read."""
        return self._events.empty()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            yield await self._events.get()


class InProcessRelay:
    """The default relay for one process: subscribers are local queues."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[Subscription]] = defaultdict(set)
        self.outages = 0
        """Always 0: one process has no link to lose."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._subscribers.clear()

    async def healthy(self) -> bool:
        return True

    async def publish(self, topic: str, event: Event) -> None:
        for subscription in tuple(self._subscribers.get(topic, ())):
            subscription.offer(event)

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(topics)
        for topic in topics:
            self._subscribers[topic].add(subscription)
        try:
            yield subscription
        finally:
            for topic in topics:
                self._subscribers[topic].discard(subscription)
                if not self._subscribers[topic]:
                    del self._subscribers[topic]
