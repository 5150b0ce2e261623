"""Deleting message records at Twilio from a background queue, off the webhook's path.

Each answered message's record id is queued here — an append, nothing awaited on the
webhook path — and one background task deletes the records at Twilio:

- while no SMS webhook is being answered, up to ``CONCURRENCY`` calls at once, so the
  queue catches up as soon as a burst is over;
- while webhooks are in flight, at most ``BUSY_RATE`` deletions a second: a long burst
  still makes progress, but the deletions do not compete with the replies. A deletion
  already started is not interrupted;
- a failed deletion (429, 5xx, a time-out, a refusal) is tried again after a growing
  pause (``BACKOFF_SECONDS``, the last one repeating): no record is given up while the
  process runs;
- when the SMS channel stops, whatever is left is deleted at once — load and pauses no
  longer matter, failures are retried after ``DRAIN_PAUSE`` — for up to
  ``DRAIN_SECONDS``; what still remains is left in the database for the next start.

The queue is mirrored in the database (``bot/channels/carrier_ledger.py``), written in
batches by a second background task, so neither a stop nor a crash forgets a record:
a worker takes over, at start and every minute, the records nobody is working on.

Deleting a message record also deletes its media at Twilio (Twilio's behaviour since
October 2020), so a picture someone sent goes the same way as their text. Only counts
are logged: a message id is never written beside anything about a person.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from bot.carrier_records import TAKE_OVER_AFTER
from bot.channels.carrier_ledger import FLUSH_SECONDS, SWEEP_SECONDS, Clock, Ledger, wait_for
from bot.channels.sms_webhook import is_message_sid
from bot.db import SessionFactory
from bot.models import utcnow

log = logging.getLogger(__name__)

Delete = Callable[[str], Awaitable[bool]]
"""Delete one record at the carrier, one attempt; True once it is gone (or was already)."""

CONCURRENCY = 8
"""Deletions in flight at once (Twilio allows an account far more concurrent requests)."""
DRAIN_CONCURRENCY = 32
"""At shutdown there is nothing left to give way to: more at once, to finish in time."""
BUSY_RATE = 10.0
"""Deletions started per second while webhooks are being answered."""
BACKOFF_SECONDS: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 15.0, 30.0, 60.0)
"""Pauses before the 2nd, 3rd… attempt at one record; the last repeats."""
DRAIN_PAUSE = 0.25
DRAIN_SECONDS = 10.0
"""How long a stopping process spends deleting what is left (within the host's grace)."""


class Activity:
    """How many webhooks are being answered right now (``with activity:`` around each)."""

    def __init__(self) -> None:
        self._count = 0
        self.idle = asyncio.Event()
        self.idle.set()

    @property
    def busy(self) -> bool:
        return self._count > 0

    def __enter__(self) -> None:
        self._count += 1
        self.idle.clear()

    def __exit__(self, *_: object) -> None:
        self._count -= 1
        if self._count == 0:
            self.idle.set()


class CarrierCleanup:
    """A queue of message records to delete at the carrier, worked by one background task."""

    def __init__(
        self,
        delete: Delete,
        activity: Activity,
        *,
        sessions: SessionFactory,
        clock: Clock = utcnow,
        concurrency: int = CONCURRENCY,
        busy_rate: float = BUSY_RATE,
        backoff: Sequence[float] = BACKOFF_SECONDS,
        flush_seconds: float = FLUSH_SECONDS,
        sweep_seconds: float = SWEEP_SECONDS,
        take_over_after: dt.timedelta = TAKE_OVER_AFTER,
    ) -> None:
        self._delete = delete
        self._activity = activity
        self._concurrency = concurrency
        self._busy_interval = 1.0 / busy_rate
        self._backoff = tuple(backoff)
        self._held: set[str] = set()
        """Every record not confirmed deleted yet: a record queued twice is deleted once."""
        self._ready: deque[str] = deque()
        self._later: list[tuple[float, int, str]] = []
        """Records waiting for a retry: a heap of (when, order, id)."""
        self._order = itertools.count()
        self._failures: dict[str, int] = {}
        self._deleting: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._next_busy_start = 0.0
        self._draining = False
        self._runner: asyncio.Task[None] | None = None
        self.deleted = 0
        self.retried = 0
        self.ledger = Ledger(
            sessions,
            clock=clock,
            taken=self._take,
            holding=self.__len__,
            flush_seconds=flush_seconds,
            sweep_seconds=sweep_seconds,
            take_over_after=take_over_after,
        )

    def add(self, sid: str) -> None:
        """Queue one record for deletion; never waits (the ledger writes it later)."""
        if sid in self._held or not is_message_sid(sid):
            return
        self._held.add(sid)
        self._ready.append(sid)
        self.ledger.queued(sid)
        self._wake.set()

    def _take(self, sids: Sequence[str]) -> None:
        """Queue records taken over from a worker that stopped or died (already written)."""
        for sid in sids:
            if sid not in self._held:
                self._held.add(sid)
                self._ready.append(sid)
        self._wake.set()

    def __len__(self) -> int:
        """Records not deleted yet: queued, waiting for a retry, or being deleted."""
        return len(self._ready) + len(self._later) + len(self._deleting)

    def start(self) -> None:
        self._start_deleting()
        self.ledger.start()

    def _start_deleting(self) -> None:
        if self._runner is None:
            loop = asyncio.get_running_loop()
            self._runner = loop.create_task(self._run(), name="carrier-cleanup")

    async def stop(self, seconds: float = DRAIN_SECONDS) -> int:
        """Delete everything left, for at most ``seconds``, and leave the rest to the next
        start (written and released in the database); return how many records remain."""
        await self.ledger.halt()  # written before the drain: a kill during it loses nothing
        self._draining = True
        while self._later:  # no more waiting out a back-off: the process is ending
            self._ready.append(heapq.heappop(self._later)[2])
        self._wake.set()
        if len(self):
            self._start_deleting()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while len(self):
                    self._progress.clear()
                    await self._progress.wait()
        tasks = [task for task in (self._runner, *self._deleting) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._runner = None
        left = len(self._held)
        lost = await self.ledger.close()
        if lost:
            log.error("carrier records lost at shutdown lost=%d left=%d", lost, left)
        if left:
            log.warning(
                "carrier records left for the next start left=%d deleted=%d",
                left - lost,
                self.deleted,
            )
        else:
            log.info(
                "carrier records all deleted deleted=%d retried=%d", self.deleted, self.retried
            )
        return left

    async def _run(self) -> None:
        while True:
            while len(self._deleting) >= self._limit:
                self._progress.clear()
                await self._progress.wait()
            sid = await self._next()
            task = asyncio.get_running_loop().create_task(self._delete_one(sid))
            self._deleting.add(task)
            task.add_done_callback(self._finished)

    @property
    def _limit(self) -> int:
        return DRAIN_CONCURRENCY if self._draining else self._concurrency

    async def _next(self) -> str:
        """The next record to delete, once it is due and the webhook path lets it go."""
        while True:
            now = time.monotonic()
            while self._later and self._later[0][0] <= now:
                self._ready.append(heapq.heappop(self._later)[2])
            if not self._ready:
                self._wake.clear()
                due = self._later[0][0] - now if self._later else None
                await wait_for(self._wake, due)
                continue
            if self._activity.busy and not self._draining:
                delay = self._next_busy_start - now
                if delay > 0:
                    # Give way to the replies, but start at once if the line goes quiet.
                    await wait_for(self._activity.idle, delay)
                    continue
                self._next_busy_start = now + self._busy_interval
            return self._ready.popleft()

    async def _delete_one(self, sid: str) -> None:
        try:
            gone = await self._delete(sid)
        except Exception as error:
            # Nobody awaits this task: say so rather than lose the record unseen.
            log.error("carrier record deletion crashed error=%s", type(error).__name__)
            gone = False
        if gone:
            self.deleted += 1
            self._failures.pop(sid, None)
            self._held.discard(sid)
            self.ledger.deleted(sid)
            return
        failures = self._failures[sid] = self._failures.get(sid, 0) + 1
        self.retried += 1
        pause = (
            DRAIN_PAUSE if self._draining else self._backoff[min(failures, len(self._backoff)) - 1]
        )
        heapq.heappush(self._later, (time.monotonic() + pause, next(self._order), sid))
        self._wake.set()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._deleting.discard(task)
        self._progress.set()
