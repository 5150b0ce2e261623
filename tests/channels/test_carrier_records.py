"""No message record is forgotten at the carrier: not at a stop, not when a worker dies.

Each "worker" here is what one process has: its own database engine, Twilio client and
cleanup queue, on the database every worker shares. A worker whose carrier cannot be
reached (nothing listens on its port) keeps its records; the next one, pointed at the
fake Twilio, deletes them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.channels.carrier_cleanup import Activity, CarrierCleanup
from bot.channels.sms_sender import SmsCounts
from bot.channels.twilio_api import TwilioApi
from bot.helpline import Helpline, build_helpline
from bot.models import CarrierRecord
from tests.conftest import FrozenClock, make_settings, prepare_database
from tests.fakes.twilio_api import FakeTwilio, eventually, inbound_sid, twilio_settings

REPO = Path(__file__).resolve().parents[2]
SWEEP = 0.05
"""Seconds between sweeps in these tests (a minute in a serving worker)."""


class Worker:
    """One process's share of the help line: engine, Twilio client, cleanup queue."""

    def __init__(
        self, database_url: str, carrier_url: str, clock: FrozenClock, sweep: float = SWEEP
    ) -> None:
        settings = make_settings(database_url, **twilio_settings(FakeTwilio(url=carrier_url)))
        self.line: Helpline = build_helpline(settings, clock=clock)
        self.api = TwilioApi(settings, count=SmsCounts(self.line), timeout=2.0)
        self.cleanup = CarrierCleanup(
            self.api.delete,
            Activity(),
            sessions=self.line.sessions,
            clock=clock,
            sweep_seconds=sweep,
        )

        self.stopped = False

    async def stop(self, seconds: float = 0.0) -> int:
        self.stopped = True
        return await self.cleanup.stop(seconds)

    async def close(self) -> None:
        if not self.stopped:
            await self.stop()
        await self.api.close()
        await self.line.db.dispose()


class Workers(Protocol):
    def __call__(self, carrier_url: str, sweep: float = SWEEP) -> Worker: ...


@pytest.fixture
async def database(database_url: str) -> str:
    await prepare_database(database_url)
    return database_url


@pytest.fixture
async def workers(database: str, clock: FrozenClock) -> AsyncIterator[Workers]:
    made: list[Worker] = []

    def worker(carrier_url: str, sweep: float = SWEEP) -> Worker:
        made.append(Worker(database, carrier_url, clock, sweep))
        return made[-1]

    yield worker
    for each in made:
        await each.close()


def unreachable() -> str:
    """A carrier address nothing listens on: every deletion fails, nothing is deleted."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def records(twilio_fake: FakeTwilio, count: int) -> list[str]:
    sids = [inbound_sid() for _ in range(count)]
    for sid in sids:
        twilio_fake.receive(sid)
    return sids


async def table(worker: Worker) -> dict[str, dt.datetime | None]:
    """The ``carrier_record`` rows: id → claimed at."""
    async with worker.line.sessions() as session:
        rows = await session.exec(select(CarrierRecord.sid, CarrierRecord.claimed_at))
        return dict(rows.all())


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Wait until the awaited ``check()`` holds (the ledger writes in the background)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def swept(worker: Worker) -> None:
    """Wait for a sweep that starts from now."""
    done = worker.cleanup.ledger.sweeps
    await eventually(lambda: worker.cleanup.ledger.sweeps >= done + 2)


async def test_records_left_at_a_stop_are_written_then_deleted_by_the_next_start(
    workers: Workers, twilio_fake: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sids = records(twilio_fake, 40)
    first = workers(unreachable())
    first.cleanup.start()
    for sid in sids:
        first.cleanup.add(sid)
    assert await first.stop(seconds=0.3) == 40
    assert await table(first) == dict.fromkeys(sids)  # every one there, released
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "left for the next start left=40" in logged
    assert not any(sid in logged for sid in sids)

    second = workers(twilio_fake.url)  # the next start, on the same database
    second.cleanup.start()
    await eventually(lambda: set(sids) <= set(twilio_fake.deleted))
    await until(lambda: _empty(second))
    assert sorted(twilio_fake.deleted) == sorted(sids)


async def test_a_worker_killed_outright_loses_nothing_once_its_records_are_written(
    database: str, workers: Workers, twilio_fake: FakeTwilio, clock: FrozenClock
) -> None:
    sids = records(twilio_fake, 20)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.channels.carrier_worker",
        database,
        unreachable(),
        *sids,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert await process.stdout.readline() == b"written\n"
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL

    taker = workers(twilio_fake.url)
    taker.cleanup.start()
    await swept(taker)
    # For all anyone can tell the killed worker is still at work: its claims are fresh.
    assert len(taker.cleanup) == 0
    assert twilio_fake.attempts["delete"] == 0
    clock.advance(minutes=10)  # nobody renewed them since: abandoned
    await eventually(lambda: set(sids) <= set(twilio_fake.deleted))
    await until(lambda: _empty(taker))
    assert sorted(twilio_fake.deleted) == sorted(sids)


async def test_records_leave_the_table_once_deleted_and_each_is_deleted_once(
    workers: Workers, twilio_fake: FakeTwilio
) -> None:
    sids = records(twilio_fake, 30)
    worker = workers(twilio_fake.url)
    twilio_fake.hold_deletes()
    worker.cleanup.start()
    for sid in sids + sids[:10]:  # a status report delivered twice queues its record twice
        worker.cleanup.add(sid)
    await until(lambda: _holds(worker, sids))
    twilio_fake.release_deletes()
    await eventually(lambda: set(sids) <= set(twilio_fake.deleted))
    await until(lambda: _empty(worker))  # while the worker runs, not only at its stop
    await swept(worker)  # its own sweeps never hand it back a record it deleted
    assert await worker.stop(seconds=10) == 0
    assert twilio_fake.attempts["delete"] == 30
    assert sorted(twilio_fake.deleted) == sorted(sids)


async def test_a_live_worker_keeps_its_records_and_a_stopped_ones_are_taken_at_once(
    workers: Workers, twilio_fake: FakeTwilio, clock: FrozenClock
) -> None:
    sids = records(twilio_fake, 12)
    busy = workers(unreachable())
    busy.cleanup.start()
    for sid in sids:
        busy.cleanup.add(sid)
    await until(lambda: _holds(busy, sids))
    clock.advance(minutes=10)  # longer than any claim lasts, unless it is renewed
    await swept(busy)
    assert set((await table(busy)).values()) == {clock.now}

    other = workers(twilio_fake.url)
    other.cleanup.start()
    await swept(other)
    assert len(other.cleanup) == 0  # the busy worker's records stay its own
    assert twilio_fake.attempts["delete"] == 0

    await busy.stop()  # released: the other takes them at its next sweep
    await eventually(lambda: set(sids) <= set(twilio_fake.deleted))
    await until(lambda: _empty(other))
    assert sorted(twilio_fake.deleted) == sorted(sids)


async def test_records_queued_while_the_database_fails_are_written_once_it_is_back(
    workers: Workers, twilio_fake: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sids = records(twilio_fake, 15)
    worker = workers(unreachable(), sweep=3600)  # after the first, no sweep: only writes fail
    worker.cleanup.start()
    await eventually(lambda: worker.cleanup.ledger.sweeps == 1)
    async with worker.line.db.begin() as connection:  # every write to the table now fails
        await connection.execute(text("ALTER TABLE carrier_record RENAME TO carrier_record_away"))
    for sid in sids:
        worker.cleanup.add(sid)
    await eventually(lambda: worker.cleanup.ledger.failures >= 1)
    async with worker.line.db.begin() as connection:
        await connection.execute(text("ALTER TABLE carrier_record_away RENAME TO carrier_record"))
    await until(lambda: _holds(worker, sids))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "carrier records not written, kept in memory" in logged
    assert not any(sid in logged for sid in sids)

    assert await worker.stop() == 15
    taker = workers(twilio_fake.url)
    taker.cleanup.start()
    await eventually(lambda: set(sids) <= set(twilio_fake.deleted))
    await until(lambda: _empty(taker))


async def _empty(worker: Worker) -> bool:
    return not await table(worker)


async def _holds(worker: Worker, sids: list[str]) -> bool:
    return set(await table(worker)) == set(sids)
