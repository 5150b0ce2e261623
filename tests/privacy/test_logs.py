"""Logs at DEBUG carry no numbers, tokens, query strings, message text or exception messages."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from bot.logs import redact
from tests.privacy.canaries import Canaries

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_third_party_lines_keep_the_event_and_lose_urls_tokens_and_query_strings(
    debug_log: Path,
) -> None:
    canaries = Canaries()
    secret_query = canaries.token()
    # What httpx, uvicorn's access log and twilio would write, arguments included.
    logging.getLogger("httpx").warning(
        'HTTP Request: %s %s "%s"',
        "POST",
        f"https://api.telegram.org/bot{BOT_TOKEN}/sendMessage",
        "200",
    )
    logging.getLogger("uvicorn.access").warning(
        '%s - "%s %s HTTP/%s" %d', "10.0.0.1:5", "GET", f"/simulator?q={secret_query}", "1.1", 200
    )
    logging.getLogger("twilio.http_client").warning("POST Request: %s", canaries.phone())
    logging.getLogger("uvicorn.error").warning("%s - bad request", "10.0.0.1")
    text = debug_log.read_text(encoding="utf-8")
    assert "httpx: warning event" in text
    assert "uvicorn.access: warning event" in text
    assert BOT_TOKEN not in text and "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in text
    assert secret_query not in text
    assert not any(canary in text for canary in canaries.all)


def test_websocket_frames_that_uvicorn_logs_at_debug_lose_their_payload(
    debug_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `uvicorn --log-level debug` sets this logger to DEBUG; frames are then logged.
    uvicorn_error = logging.getLogger("uvicorn.error")
    monkeypatch.setattr(uvicorn_error, "level", logging.DEBUG)
    said = Canaries().token()
    uvicorn_error.debug("< TEXT '%s' [%d bytes]", f'{{"text": "{said}"}}', 20)
    text = debug_log.read_text(encoding="utf-8")
    assert "uvicorn.error: debug event" in text
    assert said not in text


def test_numbers_and_chat_ids_in_our_own_lines_are_masked(debug_log: Path) -> None:
    canaries = Canaries()
    logging.getLogger("bot.channels.sms").debug(
        "from %s chat %s", canaries.phone(), canaries.chat_id()
    )
    text = debug_log.read_text(encoding="utf-8")
    assert "from [number] chat [number]" in text
    assert not any(canary in text for canary in canaries.all)


def test_an_exception_keeps_its_type_and_frames_but_not_its_message(debug_log: Path) -> None:
    canaries = Canaries()
    said, number = canaries.token(), canaries.phone()

    def parse(body: str) -> None:
        raise ValueError(f"cannot parse {body!r}")

    try:
        try:
            parse(said)
        except ValueError as inner:
            raise RuntimeError(f"delivery to {number} failed") from inner
    except RuntimeError:
        logging.getLogger("bot.delivery").exception("delivery failed ticket=%s", 7)
    text = debug_log.read_text(encoding="utf-8")
    assert "delivery failed ticket=7" in text
    assert "builtins.ValueError" in text and "builtins.RuntimeError" in text
    assert "in parse" in text, "frames stay, so an operator can still find the bug"
    assert not any(canary in text for canary in canaries.all)


async def test_a_webhook_like_flow_at_debug_logs_nothing_sensitive(debug_log: Path) -> None:
    """httpx to a local app that itself logs: request URL, form body, errors — all redacted."""
    canaries = Canaries()
    number, said = canaries.phone(), canaries.token()
    app = FastAPI()

    @app.post("/webhooks/twilio/sms")
    async def webhook(request: Request) -> Response:
        form = await request.form()
        log = logging.getLogger("bot.channels.sms")
        log.debug("inbound sid=%s", form.get("MessageSid"))
        try:
            raise RuntimeError(f"boom {form.get('Body')} from {form.get('From')}")
        except RuntimeError:
            log.exception("webhook failed sid=%s", form.get("MessageSid"))
        return Response(status_code=500)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            f"/webhooks/twilio/sms?From={number}",
            data={"From": number, "Body": said, "MessageSid": "SM123"},
        )
    assert response.status_code == 500
    text = await asyncio.to_thread(debug_log.read_text, encoding="utf-8")
    assert "inbound sid=SM123" in text
    assert "webhook failed sid=SM123" in text and "builtins.RuntimeError" in text
    assert not any(canary in text for canary in canaries.all)


async def test_a_webhook_that_crashes_answers_500_and_logs_no_words(
    database_url: str, debug_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a real uvicorn: the carrier gets 500 (and delivers again); the log keeps the
    error's type and frames, never the person's words or number it carried."""
    from bot.app import create_app
    from bot.engine import Engine
    from tests.conftest import make_settings, prepare_database
    from tests.fakes import twilio_api
    from tests.privacy import flows

    canaries = Canaries()
    number, said = canaries.phone(), canaries.token()

    async def crash(_: Engine, inbound: object) -> None:
        raise RuntimeError(f"could not answer {said} from {number}")

    await prepare_database(database_url)
    monkeypatch.setattr(Engine, "handle", crash)
    settings = make_settings(
        database_url,
        HELPLINE_LOG_LEVEL="DEBUG",
        HELPLINE_PUBLIC_URL=twilio_api.PUBLIC_URL,
        TWILIO_ACCOUNT_SID=twilio_api.ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=twilio_api.AUTH_TOKEN,
        TWILIO_MESSAGING_SERVICE_SID=twilio_api.MESSAGING_SERVICE_SID,
        TWILIO_API_BASE_URL="http://127.0.0.1:9",
        HELPLINE_TWILIO_DELETE_MESSAGES=False,
    )
    form = {"MessageSid": "SM" + "c" * 32, "From": number, "Body": said, "To": "+15550100000"}
    async with (
        flows.serve(create_app(settings)) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        answer = await twilio_api.post_signed(client, "/webhooks/twilio/sms", form)
    assert answer.status_code == 500
    text = await asyncio.to_thread(debug_log.read_text, encoding="utf-8")
    assert "builtins.RuntimeError" in text
    assert not any(canary in text for canary in canaries.all)


def test_redaction_happens_whatever_handler_a_library_installs(
    tmp_path: Path, debug_log: Path
) -> None:
    """A handler attached after configuration, on a library's own logger, still gets redacted records."""
    number = Canaries().phone()
    own = tmp_path / "library.log"
    handler = logging.FileHandler(own, encoding="utf-8")
    library = logging.getLogger("somelibrary")
    library.addHandler(handler)
    library.setLevel(logging.DEBUG)
    try:
        library.debug("sending to %s", number)
    finally:
        library.removeHandler(handler)
        handler.close()
    assert number not in own.read_text(encoding="utf-8")
    assert "[number]" in own.read_text(encoding="utf-8")


def test_redact_is_idempotent() -> None:
    record = logging.LogRecord("bot.x", logging.INFO, __file__, 1, "to %s", ("+15551234567",), None)
    redact(record)
    redact(record)
    assert record.getMessage() == "to [number]"
