"""Sign-in limits that an outsider cannot turn against an advocate.

Wrong passwords are counted per client address, in this worker's memory, and an
address over the limit is refused before any password hash is computed. Hashing
itself runs at most ``HASH_SLOTS`` at a time with a short waiting line: a flood of
sign-ins gets "busy, try again" instead of eating the CPU the webhooks need.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

ADDRESS_FAILURES = 10
"""Wrong passwords from one address within ``ADDRESS_WINDOW`` before it must wait."""
ADDRESS_WINDOW = 15 * 60.0
HASH_SLOTS = 2
"""argon2id hashes computed at once in one worker (each takes a core and 64 MiB)."""
HASH_QUEUE = 8
"""Sign-ins that may wait for a hashing slot; more are refused at once."""
_MAX_ADDRESSES = 10_000


class Throttled(Exception):
    """Too many failures from this address, or too many sign-ins at once: try later."""


class SignInThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._slots = asyncio.Semaphore(HASH_SLOTS)
        self._waiting = 0

    def check(self, address: str) -> None:
        """Refuse an address with too many recent failures (no hash is computed)."""
        failures = self._recent(address)
        if failures is not None and len(failures) >= ADDRESS_FAILURES:
            raise Throttled("too many failed sign-ins from this address")

    def failed(self, address: str) -> None:
        failures = self._recent(address)
        if failures is None:
            if len(self._failures) >= _MAX_ADDRESSES:
                # Forget the oldest address rather than grow without bound.
                self._failures.pop(next(iter(self._failures)))
            failures = self._failures[address] = deque()
        failures.append(self._clock())

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    async def hashing(self) -> _Slot:
        """A slot to compute one hash in; raises Throttled when the line is full."""
        if self._waiting >= HASH_QUEUE:
            raise Throttled("too many sign-ins at once")
        return _Slot(self)

    def _recent(self, address: str) -> deque[float] | None:
        failures = self._failures.get(address)
        if failures is None:
            return None
        horizon = self._clock() - ADDRESS_WINDOW
        while failures and failures[0] < horizon:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        return failures


class _Slot:
    def __init__(self, throttle: SignInThrottle) -> None:
        self._throttle = throttle

    async def __aenter__(self) -> None:
        self._throttle._waiting += 1
        try:
            await self._throttle._slots.acquire()
        finally:
            self._throttle._waiting -= 1

    async def __aexit__(self, *_: object) -> None:
        self._throttle._slots.release()
