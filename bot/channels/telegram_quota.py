"""Telegram's bot-wide send limit, shared by every worker through Redis.

Telegram lets one bot send about 30 messages a second in all. One process paces itself
(``telegram_sender.RateLimiter``); workers that share Redis share the allowance instead.
One key holds the moment from which the bot's next message may go, on Redis's own
clock (so the workers' clocks need not agree); a small Lua script takes that slot and
moves the key on by ``1 / limit`` seconds. The sends of all workers are so spaced
evenly, never more than the limit in any one-second window, and without a burst that
client-side queueing could bunch up on its way to Telegram. The key holds one number,
nothing else (no chat id, no content), and expires a second after the last slot.

Sends never fail because Redis does: if it does not answer, this worker paces itself at
``1 / DEGRADED_SHARE`` of the limit — within the limit with up to ``DEGRADED_SHARE``
workers — and asks Redis again after ``RETRY_SECONDS``.
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis import exceptions as redis_errors
from redis.asyncio import Redis

log = logging.getLogger(__name__)

DEGRADED_SHARE = 4
"""Without Redis each worker takes this fraction of the limit (a deployment rarely has more)."""
RETRY_SECONDS = 5.0
_TIMEOUT = 1.0
_REDIS_ERRORS = (redis_errors.RedisError, OSError)

# KEYS[1]: the moment (µs, Redis's clock) from which the next send may go.
# ARGV[1]: µs between two sends. Takes the next slot; returns the µs to wait for it.
_TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local at = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local free = at + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', free), 'PX', math.ceil((free - now) / 1000) + 1000)
return at - now
"""


class Spacing:
    """Evenly spaced turns at ``per_second`` in this process (no burst)."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._next = 0.0

    async def take(self) -> None:
        now = time.monotonic()
        at = max(self._next, now)
        self._next = at + self._interval
        if at > now:
            await asyncio.sleep(at - now)


class SharedQuota:
    """``await take()`` returns when one more message may go, counted across all workers."""

    def __init__(self, redis_url: str, *, namespace: str, per_second: float) -> None:
        self._redis = Redis.from_url(
            redis_url, socket_timeout=_TIMEOUT, socket_connect_timeout=_TIMEOUT
        )
        self._script = self._redis.register_script(_TAKE)
        self._key = f"{namespace}:telegram:next-send"
        self._interval_us = round(1_000_000 / per_second)
        self._degraded_rate = max(per_second / DEGRADED_SHARE, 0.1)
        self._degraded = Spacing(self._degraded_rate)
        self._degraded_until = 0.0

    async def take(self) -> None:
        while True:
            if time.monotonic() < self._degraded_until:
                await self._degraded.take()
                return
            try:
                wait_us = int(await self._script(keys=[self._key], args=[self._interval_us]))
            except _REDIS_ERRORS as error:
                self._degraded_until = time.monotonic() + RETRY_SECONDS
                log.warning(
                    "telegram shared send limit unavailable error=%s; this worker at %.1f/s",
                    type(error).__name__,
                    self._degraded_rate,
                )
                continue
            if wait_us > 0:
                await asyncio.sleep(wait_us / 1_000_000)
            return

    async def close(self) -> None:
        await self._redis.aclose()
