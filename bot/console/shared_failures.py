"""Wrong sign-ins per address counted in Redis, so every worker refuses an address at once.

Counted in each worker's memory, one address got ``ADDRESS_FAILURES`` password hashes in
every worker before all of them refused it: with two workers, 20 argon2id hashes (about
150 ms of CPU each) at the start of a flood, in the cores the people's webhooks need.
The benchmark's sign-in flood measured SMS p99 at 2.2–3.5× its quiet figure on two
workers, against 1.6–1.9× on one (2026-11-30).

Each address has a counter that lives ``ADDRESS_WINDOW`` from its first failure (a
fixed window, where a worker's memory keeps a sliding one). The key is an HMAC of the
address under a key derived from the server secret: Redis never holds an address.
``INCR`` admits an attempt and counts it in one step, so attempts sent to several
workers at once still get ``ADDRESS_FAILURES`` hashes in all. If Redis is out of reach,
each worker counts in its own memory again (``LocalFailures``) until it answers.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from bot.console.throttle import ADDRESS_FAILURES, ADDRESS_WINDOW, LocalFailures
from bot.crypto import keyed_hash

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

_DECREMENT_IF_PRESENT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class RedisFailures:
    def __init__(self, redis: Redis, *, namespace: str, key: bytes) -> None:
        self._redis = redis
        self._prefix = f"{namespace}:signin:"
        self._key = key
        self._window = int(ADDRESS_WINDOW)
        self._fallback = LocalFailures()

    async def admit(self, address: str) -> bool:
        counter = self._counter(address)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(counter, 0, nx=True, ex=self._window)  # the window starts here
                pipe.incr(counter)  # keeps the time to live
                _, count = await pipe.execute()
        except RedisError as error:
            self._unreachable(error)
            return await self._fallback.admit(address)
        if int(count) <= ADDRESS_FAILURES:
            return True
        await self._undo(counter)  # a refused attempt is not a failure of its own
        return False

    async def over(self, address: str) -> bool:
        try:
            count = await self._redis.get(self._counter(address))
        except RedisError as error:
            self._unreachable(error)
            return await self._fallback.over(address)
        return count is not None and int(count) >= ADDRESS_FAILURES

    async def first_refusal(self, address: str) -> bool:
        noted = self._counter(address) + ":noted"
        try:
            return bool(await self._redis.set(noted, b"1", nx=True, ex=self._window))
        except RedisError as error:
            self._unreachable(error)
            return await self._fallback.first_refusal(address)

    async def take_back(self, address: str) -> None:
        try:
            await self._undo(self._counter(address))
        except RedisError as error:
            self._unreachable(error)
            await self._fallback.take_back(address)

    async def forget(self, address: str) -> None:
        counter = self._counter(address)
        try:
            await self._redis.delete(counter, counter + ":noted")
        except RedisError as error:
            self._unreachable(error)
            await self._fallback.forget(address)

    async def _undo(self, counter: str) -> None:
        # Never on a counter that has expired: DECR would make one with no time to live.
        await self._redis.eval(_DECREMENT_IF_PRESENT, 1, counter)

    def _counter(self, address: str) -> str:
        return self._prefix + keyed_hash(self._key, address)

    @staticmethod
    def _unreachable(error: Exception) -> None:
        log.warning("sign-in counts in this worker only error=%s", type(error).__name__)
