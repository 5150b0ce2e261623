"""Periodic housekeeping in each worker: expire the line, flush counts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.helpline import Helpline

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 30.0


class Housekeeping:
    def __init__(self, helpline: Helpline, interval: float = INTERVAL_SECONDS) -> None:
        self._helpline = helpline
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="housekeeping")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run_once(self) -> None:
        helpline = self._helpline
        await helpline.queue.expire(helpline.clock())
        await helpline.counts.flush(helpline.sessions)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.run_once()
            except Exception as error:
                log.warning("housekeeping failed: %s", type(error).__name__)
