"""Periodic housekeeping in each worker: expire the line, tell people their place, purge.

Every step is safe to run on several workers at once: expiry and purge are plain
conditional deletes and updates, and a queue update is claimed with a conditional
UPDATE so one person never gets the same news twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import TYPE_CHECKING

from bot.queue import send_queue_updates
from bot.retention import purge
from bot.staffing import StaffingSampler

if TYPE_CHECKING:
    from bot.helpline import Helpline

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 30.0
PURGE_EVERY = dt.timedelta(minutes=10)


class Housekeeping:
    def __init__(self, helpline: Helpline, interval: float = INTERVAL_SECONDS) -> None:
        self._helpline = helpline
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._last_purge: dt.datetime | None = None
        self._staffing = StaffingSampler()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="housekeeping")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run_once(self) -> None:
        helpline = self._helpline
        now = helpline.clock()
        await helpline.queue.expire(now)
        await helpline.queue.return_orphans(now)
        await send_queue_updates(helpline)
        await self._staffing.sample(helpline, now)
        await helpline.counts.flush(helpline.sessions)
        if self._last_purge is None or now - self._last_purge >= PURGE_EVERY:
            await purge(helpline, now)
            self._last_purge = now

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.run_once()
            except Exception as error:
                log.warning("housekeeping failed: %s", type(error).__name__)
