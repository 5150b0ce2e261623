"""Bad input on every webhook: never a 5xx, never a traceback, never a redelivery loop.

Telegram redelivers what gets an error and holds back the updates behind it, so an
authentic update that cannot be read is acknowledged (200), dropped and counted.
Anything else malformed gets a 4xx before it costs a database row or a carrier call.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from bot.app import StartupFailed, create_app
from bot.channels import telegram
from bot.channels.telegram_sender import SendLimits
from bot.helpline import Helpline, build_helpline
from bot.limits import MAX_BODY_BYTES, BodyLimits
from bot.webhook_lane import WebhookAnswer, WebhookLane, WebhookRequest, WebhookRoute
from tests.conftest import FrozenClock, make_settings, prepare_database
from tests.fakes import twilio_api
from tests.fakes.telegram_api import FakeTelegram, TelegramUser, running_fake, telegram_settings
from tests.fakes.twilio_api import FakeTwilio, post_signed, sign, twilio_settings

SECRET_HEADER = {"X-Telegram-Bot-Api-Secret-Token": "fake-webhook-secret_0123456789"}


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    with running_fake() as server:
        yield server


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with twilio_api.running_fake() as server:
        yield server


@pytest.fixture
async def line(
    tmp_path: Any, clock: FrozenClock, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> AsyncIterator[Helpline]:
    url = f"sqlite+aiosqlite:///{tmp_path}/helpline.db"
    await prepare_database(url)
    settings = make_settings(
        url, **telegram_settings(fake_telegram), **twilio_settings(fake_twilio)
    )
    helpline = build_helpline(settings, clock=clock)
    yield helpline
    await helpline.db.dispose()


@pytest.fixture
async def client(
    line: Helpline, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setattr(telegram, "DEFAULT_LIMITS", SendLimits(200.0, 20, 500.0, 50))
    app = create_app(helpline=line)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http


def dropped(reason: str) -> float:
    value = REGISTRY.get_sample_value("helpline_telegram_updates_dropped_total", {"reason": reason})
    return value or 0.0


def refused(reason: str) -> float:
    value = REGISTRY.get_sample_value("helpline_requests_refused_total", {"reason": reason})
    return value or 0.0


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def broken_updates(person: TelegramUser) -> dict[str, tuple[dict[str, Any], str]]:
    """Authentic updates with the shape wrong in the ways that crashed the webhook."""
    missing_chat = person.message(text="hello")
    del missing_chat["message"]["chat"]
    return {
        "text as a number": (person.message(text=12345), "malformed"),
        "text as an object": (person.message(text={"a": 1}), "malformed"),
        "missing chat": (missing_chat, "malformed"),
        "location as strings": (
            person.message(location={"latitude": "north", "longitude": "west"}),
            "malformed",
        ),
        "location out of range": (
            person.message(location={"latitude": 1e308, "longitude": 0}),
            "malformed",
        ),
        "nested-array bomb": (person.message(text="hi", entities=nested(500)), "too_deep"),
        "chat id as a string": (
            {**person.message(text="hi"), "update_id": "7"},
            "malformed",
        ),
        "button data as a list": (
            {"update_id": 99, "callback_query": {"id": "1", "from": person.user, "data": [1]}},
            "malformed",
        ),
    }


async def test_malformed_authentic_updates_are_acknowledged_dropped_and_counted(
    client: httpx.AsyncClient, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    person = TelegramUser(client, fake_telegram, chat_id=8101)
    for name, (update, reason) in broken_updates(person).items():
        before = dropped(reason)
        response = await person.post(update)
        assert response.status_code == 200, name
        assert dropped(reason) == before + 1, name
    await fake_telegram.settle(0.2)
    assert fake_telegram.sent() == []
    assert "Traceback" not in caplog.text
    # The person's next real message is answered as usual.
    assert (await person.say("hello")).status_code == 200
    await fake_telegram.wait_for(lambda fake: len(fake.sent(8101)) >= 1)


@pytest.mark.parametrize(
    "body",
    [
        b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"update_id": 1, "message": {"text": "\\ud800"}}',
        b"\xff\xfe{not utf-8",
        b"",
    ],
    ids=["deep JSON bomb", "lone surrogate", "invalid UTF-8", "empty"],
)
async def test_unreadable_bodies_with_the_secret_are_acknowledged(
    client: httpx.AsyncClient, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.post(
        "/webhooks/telegram",
        content=body,
        headers={**SECRET_HEADER, "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert "Traceback" not in caplog.text


async def test_a_forged_oversized_post_is_refused_before_it_is_read(
    client: httpx.AsyncClient,
) -> None:
    before = refused("too_large")
    chunks_read = 0

    async def twenty_megabytes() -> AsyncIterator[bytes]:
        nonlocal chunks_read
        for _ in range(20):
            chunks_read += 1
            yield b"a" * 1_000_000

    for path in ("/webhooks/twilio/sms", "/webhooks/telegram"):
        response = await client.post(
            path,
            content=b"x" * (MAX_BODY_BYTES + 1),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 413
    # Without a Content-Length the bytes are counted as they come, and reading stops.
    response = await client.post(
        "/webhooks/telegram", content=twenty_megabytes(), headers=SECRET_HEADER
    )
    assert response.status_code == 413
    assert chunks_read < 20
    assert refused("too_large") == before + 3


async def test_a_client_that_hangs_up_mid_upload_is_no_traceback(
    line: Helpline, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(helpline=line)
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b"MessageSid=SM", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhooks/twilio/sms",
        "raw_path": b"/webhooks/twilio/sms",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"x-twilio-signature", b"forged"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    with caplog.at_level(logging.INFO):
        await app(scope, receive, send)  # type: ignore[arg-type]
    assert "Traceback" not in caplog.text
    assert not any(m["type"] == "http.response.start" and m["status"] >= 500 for m in sent)


def form(**fields: str) -> dict[str, str]:
    values = {
        "MessageSid": "SM" + "d" * 32,
        "AccountSid": twilio_api.ACCOUNT_SID,
        "From": "+12025550123",
        "To": twilio_api.HELPLINE_NUMBER,
        "Body": "hello",
        "NumMedia": "0",
    }
    values.update(fields)
    return values


@pytest.mark.parametrize(
    "fields",
    [
        {"MessageSid": "../../Accounts/other"},
        {"MessageSid": "SM" + "z" * 32},
        {"From": "+1" * 40},
        {"NumMedia": "many"},
        {"Body": "x" * 5000},
    ],
    ids=["path in sid", "sid not hex", "long number", "media count not a number", "long body"],
)
async def test_signed_sms_with_fields_of_the_wrong_shape_get_a_4xx_or_a_reply(
    client: httpx.AsyncClient, fields: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    response = await post_signed(client, "/webhooks/twilio/sms", form(**fields))
    assert response.status_code < 500
    assert "Traceback" not in caplog.text


async def test_a_status_callback_with_a_sid_not_of_twilios_shape_calls_no_api(
    client: httpx.AsyncClient, fake_twilio: FakeTwilio
) -> None:
    params = {"MessageSid": "SM../../../Calls", "MessageStatus": "delivered", "To": "+12025550123"}
    response = await post_signed(client, "/webhooks/twilio/status", params)
    assert response.status_code == 400
    good = {**params, "MessageSid": "SM" + "e" * 32}
    fake_twilio.receive(good["MessageSid"])
    assert (await post_signed(client, "/webhooks/twilio/status", good)).status_code == 204
    for _ in range(50):
        if fake_twilio.deleted:
            break
        await asyncio.sleep(0.05)
    assert fake_twilio.deleted == [good["MessageSid"]]


@pytest.mark.parametrize(
    "raw",
    [
        b"MessageSid=SM" + b"d" * 32 + b"&From=%2B12025550123&Body=%ED%A0%80",
        b"MessageSid=SM" + b"d" * 32 + b"&From=%2B12025550123&Body=%FF%FE",
        b"MessageSid=SM" + b"d" * 32 + b"&From=%2B12025550123&Body=\xff\xfe",
    ],
    ids=["lone surrogate", "invalid UTF-8 escaped", "invalid UTF-8 raw"],
)
async def test_signed_sms_with_bytes_that_are_not_text_is_not_a_5xx(
    client: httpx.AsyncClient, raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    # The signature is computed over what the server will parse; a forgery gets 403 anyway.
    parsed = dict(httpx.QueryParams(raw.decode("latin-1")))
    signature = sign("/webhooks/twilio/sms", parsed)
    response = await client.post(
        "/webhooks/twilio/sms",
        content=raw,
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code < 500
    assert "Traceback" not in caplog.text


async def test_json_where_a_form_is_expected_gets_a_4xx(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/webhooks/twilio/sms",
        content=json.dumps({"MessageSid": "SM" + "d" * 32}),
        headers={"X-Twilio-Signature": "x", "Content-Type": "application/json"},
    )
    assert response.status_code == 403


def trickling() -> tuple[Any, list[dict[str, Any]], Any]:
    """A request whose body sends one byte and then nothing: receive, what was sent, send."""
    chunks = [{"type": "http.request", "body": b"a", "more_body": True}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if chunks:
            return chunks.pop()
        await asyncio.sleep(3600)  # the rest of the body never comes
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    return receive, sent, send


async def test_a_body_that_trickles_in_gets_408_and_the_route_never_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reached: list[bytes] = []

    async def route(scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        reached.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    receive, sent, send = trickling()
    scope = {"type": "http", "method": "POST", "path": "/console/login", "headers": []}
    await BodyLimits(route, body_seconds=0.2)(scope, receive, send)
    assert sent[0]["status"] == 408
    assert reached == []
    assert "Traceback" not in caplog.text


async def never_answers(request: WebhookRequest) -> WebhookAnswer:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


async def test_a_webhook_whose_body_trickles_in_gets_408_and_is_never_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reached: list[WebhookRequest] = []

    async def webhook(request: WebhookRequest) -> WebhookAnswer:
        reached.append(request)
        return WebhookAnswer(200)

    receive, sent, send = trickling()
    routes = [WebhookRoute("/webhooks/telegram", webhook, summary="")]
    scope = {"type": "http", "method": "POST", "path": "/webhooks/telegram", "headers": []}
    await WebhookLane(never_answers, routes=routes, body_seconds=0.2)(scope, receive, send)
    assert sent[0]["status"] == 408
    assert reached == []
    assert "Traceback" not in caplog.text


async def test_a_webhook_that_hangs_past_its_deadline_gets_503_with_retry_after() -> None:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    routes = [WebhookRoute("/webhooks/twilio/sms", never_answers, summary="")]
    scope = {"type": "http", "method": "POST", "path": "/webhooks/twilio/sms", "headers": []}
    await WebhookLane(never_answers, routes=routes, deadline=0.2)(scope, receive, send)
    assert sent[0]["status"] == 503
    assert (b"retry-after", b"10") in sent[0]["headers"]


async def test_a_failed_start_up_is_logged_without_its_message(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # An unmigrated file: the first query fails with "no such table" and quotes its SQL.
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    app = create_app(settings)
    with pytest.raises(StartupFailed) as failed:
        async with app.router.lifespan_context(app):
            pass
    assert "no such table" not in str(failed.value)
    assert "start-up failed error=OperationalError" in caplog.text
    assert "no such table" not in caplog.text
    assert "SELECT" not in caplog.text


@pytest.mark.parametrize("path", ["/webhooks/twilio/sms", "/webhooks/telegram"])
async def test_a_webhook_opened_in_a_browser_says_post_only(
    client: httpx.AsyncClient, path: str
) -> None:
    """An operator checking the URL sees that it exists and takes POST, not "Not Found"."""
    response = await client.get(path)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def requests_counted(route: str, status: str) -> float:
    labels = {"method": "POST", "route": route, "status": status}
    return REGISTRY.get_sample_value("helpline_http_requests_total", labels) or 0.0


async def test_webhooks_are_counted_under_their_route_and_status(
    client: httpx.AsyncClient,
) -> None:
    route = "/webhooks/twilio/sms"
    answered, forged = requests_counted(route, "200"), requests_counted(route, "403")
    signed = await post_signed(client, route, form(MessageSid="SM" + "e" * 32))
    refused_post = await client.post(route, data=form(), headers={"X-Twilio-Signature": "x"})
    assert (signed.status_code, refused_post.status_code) == (200, 403)
    assert signed.headers["content-type"] == "application/xml"
    assert requests_counted(route, "200") == answered + 1
    assert requests_counted(route, "403") == forged + 1


async def test_a_webhook_that_fails_is_counted_as_a_server_error() -> None:
    """An operator's dashboard shows a crashing webhook, though the lane never answered it."""

    async def broken(request: WebhookRequest) -> WebhookAnswer:
        raise RuntimeError("a bug")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("the server's own error handling answers, not the lane")

    path = "/webhooks/broken"
    before = requests_counted(path, "500")
    lane = WebhookLane(never_answers, routes=[WebhookRoute(path, broken, summary="")])
    scope = {"type": "http", "method": "POST", "path": path, "headers": []}
    with pytest.raises(RuntimeError):
        await lane(scope, receive, send)
    assert requests_counted(path, "500") == before + 1
