"""Callers waiting at once share one batch, each gets its own result, and a failure is everyone's."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.batches import Batches


async def test_callers_that_arrive_while_a_batch_is_away_go_together_each_with_their_own_result() -> (
    None
):
    sent: list[list[int]] = []
    release = asyncio.Event()

    async def run(items: Sequence[int]) -> list[int]:
        sent.append(list(items))
        if len(sent) == 1:
            await release.wait()  # the first batch is away while the rest arrive
        return [item * 10 for item in items]

    batches: Batches[int, int] = Batches(run, name="test")
    first = asyncio.create_task(batches(1))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(batches(item)) for item in range(2, 7)]
    await asyncio.sleep(0)
    release.set()
    assert await first == 10
    assert [await task for task in rest] == [20, 30, 40, 50, 60]
    assert sent == [[1], [2, 3, 4, 5, 6]]


async def test_a_failed_batch_fails_each_caller_in_it_and_the_next_batch_runs() -> None:
    async def run(items: Sequence[str]) -> list[str]:
        if "bad" in items:
            raise ConnectionError("server gone")
        return [item.upper() for item in items]

    batches: Batches[str, str] = Batches(run, name="test")
    results = await asyncio.gather(batches("bad"), batches("also in it"), return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results)
    assert await batches("later") == "LATER"


async def test_a_caller_that_gives_up_does_not_take_the_others_results_with_it() -> None:
    release = asyncio.Event()

    async def run(items: Sequence[int]) -> list[int]:
        await release.wait()
        return list(items)

    batches: Batches[int, int] = Batches(run, name="test")
    impatient = asyncio.create_task(batches(1))
    patient = asyncio.create_task(batches(2))
    await asyncio.sleep(0)
    impatient.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    assert await patient == 2
