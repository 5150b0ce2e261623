"""Which worker answers a message id: the first to claim it, across every worker.

Carriers deliver some messages twice, and two copies can arrive at once on two
workers. One process holds the ids it handled in memory (``SeenIds``) and needs
nothing more. Several workers share Redis, so the first copy to ``SET NX`` the id
there answers; the others are told "duplicate" and answer nothing. The claim first
covers the turn in flight (``CLAIM_SECONDS``); once the turn is saved it is kept as
long as the id's row in ``seen_message`` (``bot/coherence.py`` says when Redis alone
may answer a redelivery, and when the database must be asked). A turn that fails
before it is saved releases its claim, so the carrier's redelivery is answered as if
it were the first.

Bound: a worker killed mid-turn leaves its claim until ``CLAIM_SECONDS`` pass; a
redelivery within that time is taken for a duplicate.

Only provider message ids (``sms:SM…``, ``telegram:1234``) are written, never
content or numbers, and Redis keeps them for seconds.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bot.redis_link import RedisLink

log = logging.getLogger(__name__)

CLAIM_SECONDS = 30
"""Longer than any turn can take: the database and Redis time-outs end one well before."""
_TIMEOUT = 3.0


class DeliveryClaims:
    """``claim(id)`` is True for exactly one caller among all workers (while it lasts)."""

    def __init__(self, redis_url: str | None, *, namespace: str) -> None:
        self._redis: Redis | None = None
        self._link: RedisLink | None = None
        if redis_url:
            # Imported only with Redis configured: redis-py costs a lone worker ~6 MB.
            from redis.asyncio import Redis

            from bot.redis_link import RedisLink

            self._redis = Redis.from_url(
                redis_url, socket_timeout=_TIMEOUT, socket_connect_timeout=_TIMEOUT
            )
            self._link = RedisLink(redis_url, timeout=_TIMEOUT)
        self._prefix = f"{namespace}:claim:"

    @property
    def redis(self) -> Redis | None:
        """redis-py's client, for what does not run once per message."""
        return self._redis

    @property
    def link(self) -> RedisLink | None:
        """The lean link (``bot/redis_link.py``) for what runs once per message."""
        return self._link

    def key(self, message_key: str) -> str:
        """The Redis key of a claim (``bot/coherence.py`` claims inside its look)."""
        return self._prefix + message_key

    async def claim(self, message_key: str) -> bool:
        """True if this worker is the one to answer ``message_key``; Redis errors propagate."""
        if self._link is None:
            return True  # one process: SeenIds in memory already decided
        taken = await self._link.call(
            "SET", self._prefix + message_key, "1", "NX", "EX", CLAIM_SECONDS
        )
        if not taken:
            log.info("message id claimed by another delivery in flight")
        return bool(taken)

    async def release(self, message_key: str) -> None:
        """Let a redelivery be answered after this turn failed (best effort)."""
        if self._link is None:
            return
        with contextlib.suppress(Exception):
            await self._link.call("DEL", self._prefix + message_key)

    async def close(self) -> None:
        if self._link is not None:
            await self._link.close()
        if self._redis is not None:
            await self._redis.aclose()
