"""Concurrent callers sharing one round trip: batches that form while the last is away.

Under a burst many turns wait on the same kind of round trip at once: the person's
read, Redis's look, the commit of their new state. On this machine a round trip costs
a worker 60–180 µs of CPU in system calls, the driver and the connection pool, for a
few µs of work on the server (2026-11-30: a read by primary key through the pool
176 µs, asyncpg's bare call 62 µs, a Redis script call 99 µs). So each caller hands
its item here and waits; one task runs a batch at a time, and whatever arrives while
a batch is away goes together in the next, as soon as it is back. A lone caller goes
at once: there is no timer, so a quiet line waits for nothing.

A failed batch fails every caller in it with the same error, as each would have
failed alone. A caller that gives up (a webhook's deadline) leaves its item in the
batch; its result, or the batch's error, is dropped: its own future is cancelled, and
the batch, a task of its own, goes on for the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

LIMIT = 64
"""Items in one batch at most: a burst's backlog goes in several, not one huge one."""


class Batches(Generic[T, R]):
    """``await batches(item)`` is ``run([item, …])``'s result for that item.

    ``run`` gets the items in arrival order and returns one result per item, in the
    same order.
    """

    def __init__(self, run: Callable[[Sequence[T]], Awaitable[Sequence[R]]], *, name: str) -> None:
        self._run = run
        self._name = name
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run_all(), name=self._name)
        return await done

    async def drain(self) -> None:
        """Wait for every batch gathered so far (at shutdown)."""
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner

    async def _run_all(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:LIMIT], self._pending[LIMIT:]
            try:
                results = await self._run([item for item, _ in batch])
            except Exception as error:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                if not done.done():
                    done.set_result(result)
