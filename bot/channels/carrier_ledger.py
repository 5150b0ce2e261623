"""The carrier cleanup's queue, written to the database in batches, off the webhook's path.

``CarrierCleanup`` keeps its queue in memory; this ledger mirrors it in the
``carrier_record`` table (``bot/carrier_records.py``) so that a stop or a crash
forgets nothing:

- a record queued is written within ``FLUSH_SECONDS``, with every other one queued
  meanwhile, in one multi-row insert; one deleted first is never written at all;
- a record Twilio confirms gone is removed in the next batch;
- every ``SWEEP_SECONDS`` (and at once at start) the worker renews its claim on what it
  holds and takes over records nobody works on (``bot.carrier_records.take_over``);
- at stop, what is left is written and released for the next worker to sweep;
- while the database fails, records stay in memory and the write is tried again after a
  growing pause (``OUTAGE_PAUSES``): the deletions go on meanwhile.

A worker killed outright loses only what was queued within its last ``FLUSH_SECONDS``
(or, during a database outage, everything not yet written); the rest is taken over
``TAKE_OVER_AFTER`` later. Only counts are logged, never an id.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence

from bot import carrier_records
from bot.carrier_records import TAKE_OVER_AFTER
from bot.channels.sms_webhook import is_message_sid
from bot.db import SessionFactory, transaction

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]

FLUSH_SECONDS = 0.5
"""The longest a queued record waits in memory only (the most a hard kill can lose)."""
SWEEP_SECONDS = 60.0
"""How often a worker renews its claims and takes over abandoned records."""
SOON_SECONDS = 5.0
"""The next sweep, when the last one took all it had room for (more may be waiting)."""
TAKE_AT_MOST = 5_000
"""A worker holding this many records takes over no more (others, or later, will)."""
OUTAGE_PAUSES: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Pauses before the database is tried again after a failed write; the last repeats."""
CLOSE_SECONDS = 5.0
"""The longest a stopping worker spends writing what it leaves (within the host's grace)."""


class Ledger:
    """What one worker holds in memory, mirrored in the ``carrier_record`` table."""

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        clock: Clock,
        taken: Callable[[Sequence[str]], None],
        holding: Callable[[], int],
        flush_seconds: float = FLUSH_SECONDS,
        sweep_seconds: float = SWEEP_SECONDS,
        take_over_after: dt.timedelta = TAKE_OVER_AFTER,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._taken = taken
        self._holding = holding
        self._flush_seconds = flush_seconds
        self._sweep_seconds = sweep_seconds
        self._take_over_after = take_over_after
        self._unsaved: dict[str, dt.datetime] = {}
        """Queued, not written yet: id → when it was queued."""
        self._writing: dict[str, dt.datetime] = {}
        """Being written right now."""
        self._saved: set[str] = set()
        """In the table, claimed by this worker."""
        self._gone: list[str] = []
        """Deleted at Twilio, still in the table."""
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sweeps = 0
        self.failures = 0

    # --- from the cleanup: never awaited ----------------------------------------------

    def queued(self, sid: str) -> None:
        self._unsaved[sid] = self._clock()
        self._changed.set()

    def deleted(self, sid: str) -> None:
        if self._unsaved.pop(sid, None) is not None:
            return  # never written: nothing to remove
        self._saved.discard(sid)
        self._writing.pop(sid, None)
        self._gone.append(sid)
        self._changed.set()

    # --- the background task ------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="carrier-records")

    async def halt(self) -> None:
        """Stop the background task and write what is queued (the drain comes next)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_SECONDS):
                await self._flush()

    async def close(self) -> int:
        """Write and release every record still held; return how many could not be written."""
        await self.halt()
        left = self._saved | self._unsaved.keys()
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                await self._flush()
                if left:
                    async with transaction(self._sessions) as session:
                        await carrier_records.release(session, sids=left)
        except Exception as error:
            log.error("carrier records not written at shutdown error=%s", type(error).__name__)
        return len(self._unsaved)

    async def _run(self) -> None:
        sweep_at = 0.0  # at once: take over what a stopped or killed worker left
        outages = 0
        while True:
            try:
                if time.monotonic() >= sweep_at:
                    full = await self._sweep()
                    sweep_at = time.monotonic() + (SOON_SECONDS if full else self._sweep_seconds)
                await self._flush()
                outages = 0
            except Exception as error:
                self.failures += 1
                pause = OUTAGE_PAUSES[min(outages, len(OUTAGE_PAUSES) - 1)]
                outages += 1
                log.warning(
                    "carrier records not written, kept in memory error=%s unsaved=%d retry_in=%s",
                    type(error).__name__,
                    len(self._unsaved),
                    pause,
                )
                await asyncio.sleep(pause)
                continue
            self._changed.clear()
            if not (self._unsaved or self._gone):
                await wait_for(self._changed, sweep_at - time.monotonic())
            if self._unsaved or self._gone:
                await asyncio.sleep(self._flush_seconds)  # gather a batch

    async def _flush(self) -> None:
        """Write what was queued and remove what is gone, in one transaction."""
        if not (self._unsaved or self._gone):
            return
        self._writing, self._unsaved = self._unsaved, {}
        gone, self._gone = self._gone, []
        try:
            async with transaction(self._sessions) as session:
                if self._writing:
                    await carrier_records.save(session, queued=self._writing, now=self._clock())
                if gone:
                    await carrier_records.remove(session, sids=gone)
        except BaseException:
            # Kept for the next try; one deleted meanwhile is already among the gone.
            self._unsaved = self._writing | self._unsaved
            self._gone = gone + self._gone
            raise
        finally:
            written, self._writing = self._writing, {}
        self._saved.update(written)

    async def _sweep(self) -> bool:
        """Renew this worker's claims and take over abandoned records; True if room ran out."""
        now = self._clock()
        room = TAKE_AT_MOST - self._holding()
        async with transaction(self._sessions) as session:
            if self._saved:
                await carrier_records.renew(session, sids=list(self._saved), now=now)
            taken = (
                await carrier_records.take_over(
                    session, now=now, limit=room, after=self._take_over_after
                )
                if room > 0
                else []
            )
        self.sweeps += 1
        known = self._saved | self._unsaved.keys()
        fresh = [sid for sid in taken if sid not in known and is_message_sid(sid)]
        # A row not of Twilio's shape is never put into a call to Twilio: it just goes.
        self._gone.extend(sid for sid in taken if not is_message_sid(sid))
        if fresh:
            self._saved.update(fresh)
            self._taken(fresh)
            log.info("carrier records taken over count=%d", len(fresh))
        return room > 0 and len(taken) == room


async def wait_for(event: asyncio.Event, seconds: float | None) -> None:
    """Wait until ``event`` is set or ``seconds`` have passed (None: no limit).

    The cleanup's deletion task waits the same way."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(None if seconds is None else max(seconds, 0.0)):
            await event.wait()
