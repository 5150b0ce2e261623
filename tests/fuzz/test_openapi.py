"""Schemathesis against the OpenAPI description of the webhook and health routes.

Requests are generated from ``/openapi.json`` (bot/channels/openapi.py), then most
are made authentic, as Twilio or Telegram would send them, so that generated bodies
reach the parsers and the conversation instead of stopping at the signature check.
Asserted: no 5xx, no traceback in the log. Example counts are bounded to keep the
suite within about a minute on two cores.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.fakes import telegram_api, twilio_api
from tests.fuzz.conftest import LiveHelpline

EXAMPLES = 60
OPERATIONS = [
    ("/webhooks/twilio/sms", "POST"),
    ("/webhooks/twilio/status", "POST"),
    ("/webhooks/telegram", "POST"),
    ("/healthz", "GET"),
    ("/readyz", "GET"),
]


@pytest.fixture(scope="module")
def schema(live: LiveHelpline) -> Any:
    return schemathesis.openapi.from_url(live.url + "/openapi.json")


def test_the_description_lists_every_webhook_and_health_route(schema: Any) -> None:
    described = {
        (operation.path, operation.method.upper())
        for operation in (result.ok() for result in schema.get_all_operations())
    }
    assert described == set(OPERATIONS)


def authentic(case: Any, path: str) -> None:
    """Sign the case as the carrier would (when its body can be signed at all)."""
    headers = case.headers if case.headers is not None else {}
    if path == "/webhooks/telegram":
        headers["X-Telegram-Bot-Api-Secret-Token"] = telegram_api.SECRET
    elif path.startswith("/webhooks/twilio/") and isinstance(case.body, dict):
        form = {str(key): value for key, value in case.body.items()}
        if all(isinstance(value, str) for value in form.values()):
            # A lone surrogate cannot be sent as UTF-8 by anyone: that case stays unsigned.
            with contextlib.suppress(UnicodeEncodeError):
                headers["X-Twilio-Signature"] = twilio_api.sign(path, form)
    case.headers = headers


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[p for p, _ in OPERATIONS])
def test_generated_requests_get_no_server_error(
    live: LiveHelpline, schema: Any, path: str, method: str
) -> None:
    operation = schema[path][method]
    statuses: list[int] = []

    @settings(
        max_examples=EXAMPLES if method == "POST" else 10,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        authentic(case, path)
        response = case.call(base_url=live.url)
        statuses.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error])

    run()
    assert "Traceback" not in live.log_text()
    # Generated bodies got past the signature check and were answered, not only refused.
    assert any(status < 300 for status in statuses), sorted(set(statuses))
