"""The relay across workers: Redis pub/sub, which never writes a message anywhere.

The relay uses only PUBLISH and SUBSCRIBE — it sets no key — so an operator's Redis
that persists its keys (RDB/AOF) holds nothing anyone wrote. The only keys the help
line sets in Redis are elsewhere and short-lived: message-id claims (``bot.dedup``,
30 seconds) and the time of Telegram's next send (``channels.telegram_quota``, one
number, about a second); PRIVACY.md lists them. Each process has
one connection for publishing and one reader task on its own pub/sub connection that
hands events to the local subscriptions. When Redis goes away the reader reconnects
with backoff and subscribes again; local listeners hear ``{"type": "relay",
"connected": false}`` when the link drops and ``true`` when it is back (followed by a
``{"type": "queue"}`` so a console re-reads the line it may have missed).

Pub/sub delivers at most once: an event published while a worker is disconnected is
not replayed. That is why an event carrying what a person wrote raises
``RelayUnavailable`` when it cannot be published — the webhook then answers 503 and
the carrier redelivers — while notices (queue changed, delivered, closed) are best
effort: consoles re-read state when the link returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy.engine import make_url

from bot import metrics
from bot.relay import QUEUE_TOPIC, Event, QueueChanged, RelayLink, Subscription

log = logging.getLogger(__name__)

CONTENT_EVENT_TYPES = frozenset({"message", "simulator", "handover"})
"""Events that carry what someone wrote: failing to publish them is an error, not a shrug."""

_RECONNECT_FIRST = 0.1
_RECONNECT_MAX = 5.0
_READ_TIMEOUT = 1.0
_STOP_SECONDS = 5.0
_CONFIRM_TIMEOUT = 2.0
_REDIS_ERRORS = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)


class RelayUnavailable(redis_errors.ConnectionError):
    """Redis did not take an event that must not be dropped; the caller should fail."""


def relay_namespace(database_url: str) -> str:
    """A channel prefix shared by exactly the workers that share one database."""
    url = make_url(database_url)
    place = f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}"
    return "helpline:" + hashlib.sha256(place.encode()).hexdigest()[:16]


class RedisRelay:
    """The relay for several workers, over Redis pub/sub."""

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "helpline",
        reconnect_first: float = _RECONNECT_FIRST,
        reconnect_max: float = _RECONNECT_MAX,
    ) -> None:
        self._url = url
        self._prefix = f"{namespace}:"
        self._reconnect_first = reconnect_first
        self._reconnect_max = reconnect_max
        # Keeps the reader's connection subscribed even while nobody listens locally.
        self._own_channel = f"{self._prefix}worker:{secrets.token_hex(8)}"
        self._subscribers: defaultdict[str, set[Subscription]] = defaultdict(set)
        self._client: Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._connected = asyncio.Event()
        self._confirmations: dict[str, asyncio.Event] = {}
        self.outages = 0
        """Times the link to Redis was lost: a cached state from before one is not trusted."""
        self._stopping = False

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        # One retry without delay: a pooled connection that died with a Redis restart
        # is replaced at once; a Redis that is really down fails fast (503, redelivery).
        self._client = Redis.from_url(
            self._url,
            socket_connect_timeout=2,
            socket_timeout=5,
            health_check_interval=15,
            retry=Retry(NoBackoff(), 1),
        )
        self._stopping = False
        self._reader = asyncio.create_task(self._read_forever(), name="redis-relay-reader")

    async def stop(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            # A cancellation that lands inside the client's own clean-up can be swallowed
            # there; the flag ends the loop at its next turn, and the wait is bounded so a
            # worker's shutdown never hangs on the reader.
            self._stopping = True
            reader.cancel()
            done, _ = await asyncio.wait({reader}, timeout=_STOP_SECONDS)
            if not done:
                log.warning("relay reader did not stop within %s s", _STOP_SECONDS)
        self._subscribers.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def healthy(self) -> bool:
        if self._client is None or not self._connected.is_set():
            return False
        try:
            return bool(await asyncio.wait_for(self._client.ping(), timeout=2))
        except (*_REDIS_ERRORS, TimeoutError):
            return False

    async def wait_connected(self) -> None:
        """Return once the reader is subscribed (callers bound the wait)."""
        await self._connected.wait()

    # --- the Relay protocol ------------------------------------------------------------

    async def publish(self, topic: str, event: Event) -> None:
        """Send ``event`` to every subscriber of ``topic`` on every worker."""
        payload = json.dumps({"sent": time.time(), "event": event}, separators=(",", ":"))
        content = event.get("type") in CONTENT_EVENT_TYPES
        try:
            if self._client is None:
                raise RelayUnavailable("relay is not started")
            await self._client.publish(self._prefix + topic, payload)
        except _REDIS_ERRORS as error:
            kind = "content" if content else "notice"
            metrics.RELAY_PUBLISH_FAILURES.labels(kind).inc()
            log.warning(
                "relay publish failed kind=%s type=%s error=%s",
                kind,
                event.get("type"),
                type(error).__name__,
            )
            if content:
                raise RelayUnavailable("relay could not publish a message") from None

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(topics)
        async with self._lock:
            fresh = [topic for topic in topics if not self._subscribers[topic]]
            for topic in topics:
                self._subscribers[topic].add(subscription)
            await self._listen(fresh)
        try:
            yield subscription
        finally:
            async with self._lock:
                gone = []
                for topic in topics:
                    self._subscribers[topic].discard(subscription)
                    if not self._subscribers[topic]:
                        del self._subscribers[topic]
                        gone.append(topic)
                await self._unlisten(gone)

    # --- the reader --------------------------------------------------------------------

    async def _listen(self, topics: list[str]) -> None:
        if not topics or self._pubsub is None:
            return  # the reader subscribes to every local topic when it (re)connects
        channels = [self._prefix + t for t in topics]
        waits = [self._confirmations.setdefault(c, asyncio.Event()) for c in channels]
        with contextlib.suppress(*_REDIS_ERRORS):
            await self._pubsub.subscribe(*channels)
            # Return only once Redis confirms: an event published right after (the
            # person's first words after a claim) must reach this subscriber.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_CONFIRM_TIMEOUT):
                    await asyncio.gather(*(wait.wait() for wait in waits))
        for channel in channels:
            self._confirmations.pop(channel, None)

    async def _unlisten(self, topics: list[str]) -> None:
        if not topics or self._pubsub is None:
            return
        with contextlib.suppress(*_REDIS_ERRORS):
            await self._pubsub.unsubscribe(*(self._prefix + t for t in topics))

    async def _read_forever(self) -> None:
        delay = self._reconnect_first
        first = True
        while not self._stopping:
            assert self._client is not None
            pubsub = self._client.pubsub()
            try:
                async with self._lock:
                    channels = [self._prefix + t for t in self._subscribers]
                    await pubsub.subscribe(self._own_channel, *channels)
                    self._pubsub = pubsub
                self._connected.set()
                delay = self._reconnect_first
                if not first:
                    metrics.RELAY_RECONNECTS.inc()
                    log.info("relay reconnected to Redis topics=%s", len(channels))
                    self._announce_link(connected=True)
                first = False
                while not self._stopping:
                    message = await pubsub.get_message(timeout=_READ_TIMEOUT)
                    if message is None:
                        continue
                    if message.get("type") == "message":
                        self._dispatch(message)
                    elif message.get("type") == "subscribe":
                        self._confirm(message)
            except _REDIS_ERRORS as error:
                self.outages += 1
                if self._connected.is_set():
                    log.warning("relay lost Redis error=%s", type(error).__name__)
                    self._announce_link(connected=False)
                self._connected.clear()
            finally:
                self._pubsub = None
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._reconnect_max)

    def _confirm(self, message: dict[str, Any]) -> None:
        channel = message["channel"]
        name = channel.decode() if isinstance(channel, bytes) else str(channel)
        waiting = self._confirmations.get(name)
        if waiting is not None:
            waiting.set()

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = message["channel"]
        topic = (channel.decode() if isinstance(channel, bytes) else str(channel)).removeprefix(
            self._prefix
        )
        try:
            envelope = json.loads(message["data"])
            event = envelope["event"]
            sent = float(envelope["sent"])
        except (ValueError, KeyError, TypeError):
            log.warning("relay dropped a malformed event")
            return
        metrics.RELAY_LAG.observe(max(0.0, time.time() - sent))
        for subscription in tuple(self._subscribers.get(topic, ())):
            subscription.offer(event)

    def _announce_link(self, *, connected: bool) -> None:
        """Tell local listeners the link changed, so a console can say it is reconnecting."""
        notice = RelayLink(connected=connected).event()
        everyone = {s for subscribers in self._subscribers.values() for s in subscribers}
        for subscription in everyone:
            subscription.offer(notice)
        if connected:
            for subscription in tuple(self._subscribers.get(QUEUE_TOPIC, ())):
                subscription.offer(QueueChanged().event())
