"""Sign-in limits that an outsider cannot turn against an advocate, nor against the people.

Wrong passwords are counted per client address (``AddressFailures``: in this worker's
memory, or in Redis for every worker, ``bot/console/shared_failures.py``), and an
address over the limit is refused before any database read or password hash.
Checking a sign-in (reading the account, computing the hash) runs at most
``HASH_SLOTS`` at a time with a short waiting line: a flood of sign-ins gets "busy,
try again" instead of eating the CPU the webhooks need. One slot per worker: an
argon2id hash takes about 165 ms of CPU over four lanes, and runs below the webhooks'
priority (``bot/console/auth.py``, ``HASH_NICENESS``), so the cores stay with the people.

A refusal is answered only after ``REFUSAL_SECONDS`` (a tarpit). Waiting costs the
server no CPU, and a flooder that waits for each answer before sending the next
(nearly all do) is slowed to a few attempts a second; an advocate's own first
attempts are never refused, so they are answered at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

ADDRESS_FAILURES = 10
"""Wrong passwords from one address within ``ADDRESS_WINDOW`` before it must wait."""
ADDRESS_WINDOW = 15 * 60.0
HASH_SLOTS = 1
"""Sign-ins checked (argon2id hashes computed) at once in one worker; each takes a core
and 64 MiB."""
HASH_QUEUE = 8
"""Sign-ins that may wait for a hashing slot; more are refused at once."""
REFUSAL_SECONDS = 1.0
"""How long a refused sign-in waits before its answer is sent (no CPU is spent waiting)."""
BUSY_NOTE_SECONDS = 60.0
"""A busy line is noted in the audit log at most once in this long."""
_MAX_ADDRESSES = 10_000

Refusal = Literal["address", "busy"]


class Throttled(Exception):
    """Too many failures from this address, or too many sign-ins at once: try later.

    ``first`` is True for the first refusal worth an audit row: an address's first
    since it went over the limit, or the first "busy" in ``BUSY_NOTE_SECONDS``. A
    flood then writes a handful of rows, not one per attempt.
    """

    def __init__(self, refusal: Refusal, *, first: bool) -> None:
        super().__init__(refusal)
        self.refusal: Refusal = refusal
        self.first = first


class AddressFailures(Protocol):
    """Wrong sign-ins per client address within ``ADDRESS_WINDOW``."""

    async def admit(self, address: str) -> bool:
        """Count one more attempt from ``address``; False (not counted) if over the limit."""

    async def over(self, address: str) -> bool:
        """Whether ``address`` is over its limit now (nothing is counted)."""

    async def first_refusal(self, address: str) -> bool:
        """True once per address and window: the refusal worth an audit row."""

    async def take_back(self, address: str) -> None:
        """The attempt was right after all: it is not a failure."""

    async def forget(self, address: str) -> None:
        """Signed in: the address starts afresh."""


@dataclass(slots=True)
class _Address:
    failures: deque[float] = field(default_factory=lambda: deque(maxlen=ADDRESS_FAILURES))
    refused: bool = False


class LocalFailures:
    """Counts in this worker's memory: one process, or Redis out of reach."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._addresses: dict[str, _Address] = {}

    async def admit(self, address: str) -> bool:
        known = self._recent(address)
        if known is not None and len(known.failures) >= ADDRESS_FAILURES:
            return False
        if known is None:
            if len(self._addresses) >= _MAX_ADDRESSES:
                # Forget the oldest address rather than grow without bound.
                self._addresses.pop(next(iter(self._addresses)))
            known = self._addresses[address] = _Address()
        known.failures.append(self._clock())
        return True

    async def over(self, address: str) -> bool:
        known = self._recent(address)
        return known is not None and len(known.failures) >= ADDRESS_FAILURES

    async def first_refusal(self, address: str) -> bool:
        known = self._recent(address)
        if known is None or known.refused:
            return False
        known.refused = True
        return True

    async def take_back(self, address: str) -> None:
        known = self._addresses.get(address)
        if known is not None and known.failures:
            known.failures.pop()

    async def forget(self, address: str) -> None:
        self._addresses.pop(address, None)

    def _recent(self, address: str) -> _Address | None:
        known = self._addresses.get(address)
        if known is None:
            return None
        horizon = self._clock() - ADDRESS_WINDOW
        while known.failures and known.failures[0] < horizon:
            known.failures.popleft()
        if not known.failures:
            del self._addresses[address]
            return None
        return known


class SignInThrottle:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        failures: AddressFailures | None = None,
    ) -> None:
        self._clock = clock
        self._failures = failures or LocalFailures(clock)
        self._slots = asyncio.Semaphore(HASH_SLOTS)
        self._waiting = 0
        self._busy_noted = -BUSY_NOTE_SECONDS

    @contextlib.asynccontextmanager
    async def checking(self, address: str) -> AsyncIterator[None]:
        """A turn to check one sign-in (read the account, hash the password) in.

        Raises Throttled, before anything is read or hashed, when the line is full or
        the address has too many recent failures. An admitted attempt counts as a
        failure of its address at once (``passed`` takes it back), so however many an
        address sends at the same time, it gets at most ``ADDRESS_FAILURES`` hashes.
        """
        if self._waiting >= HASH_QUEUE:
            now = self._clock()
            first = now - self._busy_noted >= BUSY_NOTE_SECONDS
            if first:
                self._busy_noted = now
            raise Throttled("busy", first=first)
        if not await self._failures.admit(address):
            raise Throttled("address", first=await self._failures.first_refusal(address))
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()

    async def check(self, address: str) -> None:
        """Raise Throttled when ``address`` has too many recent failures."""
        if await self._failures.over(address):
            raise Throttled("address", first=await self._failures.first_refusal(address))

    async def refuses(self, address: str) -> bool:
        """Whether a sign-in from ``address`` would be refused now (nothing is noted)."""
        return await self._failures.over(address)

    async def passed(self, address: str) -> None:
        """The password was right: this attempt is not a failure of its address."""
        await self._failures.take_back(address)

    async def succeeded(self, address: str) -> None:
        """Signed in: forget the address's failures."""
        await self._failures.forget(address)
