"""Message records leave Twilio after the replies, from a background queue, every one of them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.app import create_app
from bot.channels.carrier_cleanup import Activity, CarrierCleanup
from bot.channels.sms_sender import SmsCounts
from bot.channels.twilio_api import TwilioApi
from bot.helpline import Helpline, build_helpline
from tests.conftest import FrozenClock, make_settings, prepare_database
from tests.fakes.twilio_api import (
    PUBLIC_URL,
    FakeTwilio,
    Phone,
    eventually,
    inbound_sid,
    twilio_settings,
)

BURST = 24


@pytest.fixture
async def line(
    database_url: str, clock: FrozenClock, twilio_fake: FakeTwilio
) -> AsyncIterator[Helpline]:
    await prepare_database(database_url)
    line = build_helpline(make_settings(database_url, **twilio_settings(twilio_fake)), clock=clock)
    yield line
    await line.db.dispose()  # the queue's own tests use its database without the app


def phones(client: httpx.AsyncClient, fake: FakeTwilio, count: int) -> list[Phone]:
    return [Phone(client, fake, f"+1202555{index:04d}") for index in range(count)]


async def burst(people: list[Phone]) -> dict[str, float]:
    """Everyone texts at once; return when each message's reply reached its phone."""
    answered: dict[str, float] = {}

    async def text(person: Phone) -> None:
        sid = inbound_sid()
        replies = await person.text("hello", sid=sid)
        answered[sid] = time.monotonic()
        assert "This is a help line" in replies[0]

    await asyncio.gather(*(text(person) for person in people))
    return answered


# --- through the app ----------------------------------------------------------------------


async def test_a_burst_is_answered_while_twilio_holds_every_delete_then_all_are_deleted(
    line: Helpline, twilio_fake: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    twilio_fake.hold_deletes()  # a deletion on the reply's path would never return
    app = create_app(helpline=line)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL) as http,
    ):
        answered = await burst(phones(http, twilio_fake, BURST))
        assert len(answered) == BURST
        assert twilio_fake.deleted == []
        twilio_fake.release_deletes()
        await eventually(lambda: set(answered) <= set(twilio_fake.deleted), seconds=20)

    arrived = dict(twilio_fake.delete_arrivals)
    late = [sid for sid, at in answered.items() if arrived[sid] <= at]
    assert late == [], "a record was deleted before its reply reached the phone"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not any(sid in logged for sid in answered)


async def test_records_are_all_deleted_when_twilio_first_answers_429_and_500(
    line: Helpline, twilio_fake: FakeTwilio
) -> None:
    twilio_fake.fail("delete", status=429, times=6)
    twilio_fake.fail("delete", status=500, times=6)
    app = create_app(helpline=line)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL) as http,
    ):
        answered = await burst(phones(http, twilio_fake, 10))
        await eventually(lambda: set(answered) <= set(twilio_fake.deleted), seconds=20)
    assert twilio_fake.attempts["delete"] == 10 + 12
    assert sorted(twilio_fake.deleted) == sorted(answered)  # each once


async def test_stopping_the_app_deletes_what_is_still_queued_first(
    line: Helpline, twilio_fake: FakeTwilio
) -> None:
    twilio_fake.hold_deletes()
    app = create_app(helpline=line)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL) as http,
    ):
        answered = await burst(phones(http, twilio_fake, BURST))
        assert twilio_fake.deleted == []  # nothing deleted yet when the app is told to stop
        twilio_fake.fail("delete", status=503, times=5)  # and some fail on the way out
        asyncio.get_running_loop().call_later(0.2, twilio_fake.release_deletes)
    assert set(answered) <= set(twilio_fake.deleted)


async def test_status_callbacks_queue_the_replies_records_too(
    line: Helpline, twilio_fake: FakeTwilio
) -> None:
    app = create_app(helpline=line)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL) as http,
    ):
        person = Phone(http, twilio_fake, "+12025550143")
        await person.text("hello")
        replies = await person.delivered()
    assert len(replies) == 2
    assert twilio_fake.messages == set()  # the inbound message and both replies


# --- the queue itself ---------------------------------------------------------------------


@pytest.fixture
async def api(line: Helpline) -> AsyncIterator[TwilioApi]:
    api = TwilioApi(line.settings, count=SmsCounts(line), timeout=2.0)
    yield api
    await api.close()


async def test_while_webhooks_are_answered_deletions_give_way_then_catch_up(
    line: Helpline, api: TwilioApi, twilio_fake: FakeTwilio
) -> None:
    answering = Activity()
    # One per 1,000 s.
    cleanup = CarrierCleanup(api.delete, answering, sessions=line.sessions, busy_rate=0.001)
    cleanup.start()
    sids = [inbound_sid() for _ in range(20)]
    with answering:
        for sid in sids:
            twilio_fake.receive(sid)
            cleanup.add(sid)
        await eventually(lambda: len(twilio_fake.deleted) == 1)
        await asyncio.sleep(0.3)
        assert len(twilio_fake.deleted) == 1
    await eventually(lambda: set(sids) <= set(twilio_fake.deleted))
    assert await cleanup.stop() == 0


async def test_a_record_is_never_given_up_while_the_process_runs(
    line: Helpline, api: TwilioApi, twilio_fake: FakeTwilio
) -> None:
    cleanup = CarrierCleanup(api.delete, Activity(), sessions=line.sessions, backoff=(0.01, 0.02))
    cleanup.start()
    twilio_fake.fail("delete", status=500, times=30)
    sids = [inbound_sid() for _ in range(3)]
    for sid in sids:
        twilio_fake.receive(sid)
        cleanup.add(sid)
    await eventually(lambda: set(sids) <= set(twilio_fake.deleted), seconds=10)
    assert twilio_fake.attempts["delete"] == 33
    assert await cleanup.stop() == 0


async def test_what_cannot_be_deleted_by_the_deadline_is_counted_not_named(
    line: Helpline, api: TwilioApi, twilio_fake: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    cleanup = CarrierCleanup(api.delete, Activity(), sessions=line.sessions)
    twilio_fake.fail("delete", status=500, times=1000)
    sids = [inbound_sid() for _ in range(3)]
    for sid in sids:
        twilio_fake.receive(sid)
        cleanup.add(sid)
    assert await cleanup.stop(seconds=0.5) == 3
    assert twilio_fake.attempts["delete"] >= 3
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "left=3" in logged
    assert not any(sid in logged for sid in sids)
