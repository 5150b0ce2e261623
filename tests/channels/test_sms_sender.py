"""SMS sent later (advocate replies, closing messages) through the real twilio client."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlmodel import select

from bot.app import create_app
from bot.channels.sms import SmsChannel
from bot.channels.sms_sender import SmsCounts, SmsSender, opted_out
from bot.channels.twilio_api import TwilioApi
from bot.helpline import Helpline, build_helpline
from bot.models import DailyCount
from bot.render import SEGMENT_BUDGET
from bot.segments import measure
from bot.types import Address, Channel, Reply
from tests.conftest import FrozenClock, make_settings, prepare_database
from tests.fakes.twilio_api import (
    MESSAGING_SERVICE_SID,
    PUBLIC_URL,
    FakeTwilio,
    Phone,
    eventually,
    twilio_settings,
)

NUMBER = "+12025550143"
ADDRESS = Address(Channel.SMS, NUMBER)

LONG_RUSSIAN = (
    "Мы получили ваше сообщение и очень рады, что вы написали. "
    "Вы можете говорить с нами столько, сколько вам нужно. "
    "Если рядом есть человек, который может прочитать ваш телефон, удаляйте переписку после каждого сообщения. "
    "Мы можем помочь найти безопасное место, юридическую помощь и врача. "
    "Напишите, в каком городе вы находитесь, и мы подскажем, куда обратиться. "
    "Если вы в опасности прямо сейчас, звоните в экстренную службу."
)


async def open_line(database_url: str, clock: FrozenClock, **overrides: object) -> Helpline:
    await prepare_database(database_url)
    line = build_helpline(make_settings(database_url, **overrides), clock=clock)
    await line.start()
    return line


@pytest.fixture
async def line(
    database_url: str, clock: FrozenClock, twilio_fake: FakeTwilio
) -> AsyncIterator[Helpline]:
    line = await open_line(database_url, clock, **twilio_settings(twilio_fake))
    channel = SmsChannel(line)
    await channel.start()
    yield line
    await channel.stop()
    await line.stop()


def quick_api(line: Helpline, *, timeout: float = 0.3) -> TwilioApi:
    """An API client with short waits, so failures are tested in a fraction of a second."""
    return TwilioApi(
        line.settings, count=SmsCounts(line), timeout=timeout, retry_delays=(0.05, 0.1)
    )


def failures_metric(reason: str) -> float:
    """The operators' Prometheus counter of failed deliveries for SMS and ``reason``."""
    labels = {"channel": "sms", "reason": reason}
    return REGISTRY.get_sample_value("helpline_delivery_failures_total", labels) or 0.0


async def daily(line: Helpline, metric: str) -> int:
    await line.counts.flush(line.sessions)
    async with line.sessions() as session:
        rows = (await session.exec(select(DailyCount).where(DailyCount.metric == metric))).all()
    return sum(row.count for row in rows)


async def test_an_advocate_reply_goes_out_through_the_messaging_service(
    line: Helpline, twilio_fake: FakeTwilio
) -> None:
    assert await line.senders.send(ADDRESS, [Reply(text="An advocate is here for you.")])
    (sent,) = twilio_fake.created
    assert sent.to == NUMBER
    assert sent.body == "An advocate is here for you."
    assert sent.messaging_service_sid == MESSAGING_SERVICE_SID
    assert sent.status_callback == f"{PUBLIC_URL}/webhooks/twilio/status"


async def test_a_from_number_is_used_when_there_is_no_messaging_service(
    database_url: str, clock: FrozenClock, twilio_fake: FakeTwilio
) -> None:
    settings = twilio_settings(
        twilio_fake, TWILIO_MESSAGING_SERVICE_SID=None, TWILIO_FROM_NUMBER="+15005550006"
    )
    line = await open_line(database_url, clock, **settings)
    api = quick_api(line)
    try:
        assert await SmsSender(line, api, SmsCounts(line)).send(ADDRESS, [Reply(text="Hello")])
    finally:
        await api.close()
        await line.stop()
    (sent,) = twilio_fake.created
    assert sent.from_ == "+15005550006"
    assert sent.messaging_service_sid is None


async def test_a_long_russian_reply_is_split_into_numbered_messages_on_sentence_boundaries(
    line: Helpline, twilio_fake: FakeTwilio
) -> None:
    assert measure(LONG_RUSSIAN).count > SEGMENT_BUDGET
    assert await line.senders.send(ADDRESS, [Reply(text=LONG_RUSSIAN)])
    bodies = twilio_fake.bodies_to(NUMBER)
    total = len(bodies)
    assert 2 <= total <= 3
    for index, body in enumerate(bodies, start=1):
        assert body.startswith(f"({index}/{total}) ")
        size = measure(body)
        assert size.encoding == "UCS-2"
        assert size.count <= SEGMENT_BUDGET
        assert body.endswith(".")  # whole sentences only
    rejoined = " ".join(body.split(") ", 1)[1] for body in bodies)
    assert rejoined == LONG_RUSSIAN
    assert await daily(line, "sms.messages") == total
    assert await daily(line, "sms.segments") == sum(measure(b).count for b in bodies)


async def test_an_emoji_makes_the_whole_reply_ucs2(line: Helpline, twilio_fake: FakeTwilio) -> None:
    text = "You did the right thing by writing. We are here 🙂"
    assert await line.senders.send(ADDRESS, [Reply(text=text)])
    (body,) = twilio_fake.bodies_to(NUMBER)
    assert body == text
    assert measure(body).encoding == "UCS-2"
    assert measure(body).count == 1
    assert measure(text.replace(" 🙂", "")).encoding == "GSM-7"


async def test_a_21610_from_twilio_records_the_opt_out_and_stops_later_sends(
    line: Helpline, twilio_fake: FakeTwilio
) -> None:
    twilio_fake.fail("create", status=400, code=21610)
    assert await line.senders.send(ADDRESS, [Reply(text="Are you still there?")]) is False
    assert twilio_fake.attempts["create"] == 1  # refused for good: not retried

    assert await line.senders.send(ADDRESS, [Reply(text="Hello?")]) is False
    assert twilio_fake.attempts["create"] == 1  # the bot no longer even tries
    assert await opted_out(line.engine, await line.engine.identify(Channel.SMS, NUMBER))
    assert await daily(line, "sms.error.opted_out") == 1
    assert await daily(line, "sms.skipped.opted_out") == 1


@pytest.mark.parametrize("code", [21211, 21614])
async def test_an_invalid_number_is_given_up_at_once(
    line: Helpline, twilio_fake: FakeTwilio, code: int
) -> None:
    before = failures_metric("invalid_address")
    twilio_fake.fail("create", status=400, code=code)
    assert await line.senders.send(ADDRESS, [Reply(text="Hello")]) is False
    assert twilio_fake.attempts["create"] == 1
    assert await daily(line, "sms.error.invalid_number") == 1
    assert failures_metric("invalid_address") == before + 1


async def test_server_errors_are_retried_a_few_times_then_given_up(
    line: Helpline, twilio_fake: FakeTwilio
) -> None:
    twilio_fake.fail("create", status=500, code=20500, times=10)
    api = quick_api(line)
    try:
        sent = await SmsSender(line, api, SmsCounts(line)).send(ADDRESS, [Reply(text="Hello")])
    finally:
        await api.close()
    assert sent is False
    assert twilio_fake.attempts["create"] == 3
    assert twilio_fake.created == []
    assert await daily(line, "sms.error.server_error") == 3


async def test_a_passing_server_error_is_retried_and_the_message_arrives_once(
    line: Helpline, twilio_fake: FakeTwilio
) -> None:
    twilio_fake.fail("create", status=503, times=1)
    api = quick_api(line)
    try:
        sent = await SmsSender(line, api, SmsCounts(line)).send(ADDRESS, [Reply(text="Hello")])
    finally:
        await api.close()
    assert sent is True
    assert twilio_fake.bodies_to(NUMBER) == ["Hello"]
    assert twilio_fake.attempts["create"] == 2


async def test_a_send_that_times_out_is_not_sent_again(
    line: Helpline, twilio_fake: FakeTwilio
) -> None:
    # Twilio may have taken the message before the answer was lost: a retry would text
    # the person twice, so a time-out is given up at once.
    twilio_fake.hang("create", seconds=1.0, times=5)
    api = quick_api(line, timeout=0.3)
    try:
        sent = await SmsSender(line, api, SmsCounts(line)).send(ADDRESS, [Reply(text="Hello")])
    finally:
        await api.close()
    assert sent is False
    assert twilio_fake.attempts["create"] == 1
    assert await daily(line, "sms.error.timeout") == 1
    for _ in range(40):  # the hung request completes at the fake: one message, not three
        if twilio_fake.created:
            break
        await asyncio.sleep(0.05)
    assert twilio_fake.bodies_to(NUMBER) == ["Hello"]


async def test_one_delete_is_one_attempt_that_says_whether_the_record_is_gone(
    line: Helpline, twilio_fake: FakeTwilio
) -> None:
    # Retrying is the cleanup queue's (tests/channels/test_carrier_cleanup.py).
    api = quick_api(line, timeout=0.3)
    try:
        twilio_fake.receive("SM1")
        twilio_fake.fail("delete", status=502, times=1)
        assert await api.delete("SM1") is False
        assert twilio_fake.attempts["delete"] == 1
        assert await api.delete("SM1") is True
        assert twilio_fake.deleted == ["SM1"]

        twilio_fake.receive("SM2")
        twilio_fake.hang("delete", seconds=3, times=5)
        assert await api.delete("SM2") is False
        assert "SM2" in twilio_fake.messages
    finally:
        await api.close()


async def test_a_message_already_gone_counts_as_deleted(
    line: Helpline, twilio_fake: FakeTwilio
) -> None:
    api = quick_api(line)
    try:
        assert await api.delete("SM" + "d" * 32) is True
    finally:
        await api.close()
    assert twilio_fake.attempts["delete"] == 1


async def test_the_webhook_still_answers_when_twilio_cannot_delete(
    database_url: str, clock: FrozenClock, twilio_fake: FakeTwilio
) -> None:
    await prepare_database(database_url)
    line = build_helpline(make_settings(database_url, **twilio_settings(twilio_fake)), clock=clock)
    app = create_app(helpline=line)
    twilio_fake.fail("delete", status=500, times=100)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL) as http,
    ):
        replies = await Phone(http, twilio_fake, NUMBER).text("hello")
        assert "This is a help line" in replies[0]
        await eventually(lambda: twilio_fake.attempts["delete"] >= 1)


def closed_port() -> int:
    """A local port nothing listens on: a connection to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextlib.asynccontextmanager
async def line_sending_to(
    url: str, database_url: str, clock: FrozenClock, twilio_fake: FakeTwilio
) -> AsyncIterator[tuple[Helpline, bool]]:
    """A line whose Twilio API is at ``url``, after it tried to send one reply there."""
    line = await open_line(
        database_url, clock, **twilio_settings(twilio_fake, TWILIO_API_BASE_URL=url)
    )
    api = quick_api(line)
    try:
        sent = await SmsSender(line, api, SmsCounts(line)).send(ADDRESS, [Reply(text="Hello")])
        yield line, sent
    finally:
        await api.close()
        await line.stop()


async def test_a_send_twilio_never_received_is_tried_again_then_counted(
    database_url: str, clock: FrozenClock, twilio_fake: FakeTwilio
) -> None:
    # A refused connection means Twilio has no message: trying again cannot text twice.
    url = f"http://127.0.0.1:{closed_port()}"
    async with line_sending_to(url, database_url, clock, twilio_fake) as (line, sent):
        assert sent is False
        assert await daily(line, "sms.error.network") == 3


async def test_a_send_whose_connection_drops_mid_request_is_not_sent_again(
    database_url: str, clock: FrozenClock, twilio_fake: FakeTwilio
) -> None:
    # The request reached "Twilio", which hung up before answering: it may have sent it.
    arrived: list[bytes] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        arrived.append(await reader.read(65536))
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    try:
        async with line_sending_to(url, database_url, clock, twilio_fake) as (line, sent):
            assert sent is False
            assert len(arrived) == 1
            assert await daily(line, "sms.error.network") == 1
    finally:
        server.close()
        await server.wait_closed()
