"""The relay: how live events reach whichever worker holds the listener.

Events are small dicts. Live messages pass through in memory only: the in-process
relay hands them to local subscribers; the Redis relay (bot/redis_relay.py) uses
pub/sub, which never writes a message to disk. Nothing here stores an event.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

Event = dict[str, Any]

QUEUE_TOPIC = "queue"
"""Queue changed (a ticket opened, was claimed, closed or became urgent): no content."""

log = logging.getLogger(__name__)

_SUBSCRIBER_BUFFER = 1000


def ticket_topic(ticket_id: int) -> str:
    return f"ticket:{ticket_id}"


class Relay(Protocol):
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

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            yield await self._events.get()


class InProcessRelay:
    """The default relay for one process: subscribers are local queues."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[Subscription]] = defaultdict(set)

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
