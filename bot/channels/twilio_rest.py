"""Twilio's Messages API: the three calls the help line makes, over ``ConnectionPool``.

Imported only when a worker first talks to Twilio (``bot.channels.twilio_api``).

- **Written here, on Twilio's documented contract, not through twilio's client.** The
  calls are three: create a message (a form ``POST`` to ``Messages.json``), delete one
  (``DELETE Messages/{sid}.json``, 204, or 404 with code 20404 once gone), and read the
  account (``GET {account}.json``), each with HTTP Basic authentication by account SID
  and auth token; an error answers JSON with Twilio's ``code`` and ``status``. twilio's
  generic ``Version`` layer did the same, but loading it loads ``requests`` and
  ``urllib3`` for a type annotation (``twilio.http``): 7.9 MB resident in a worker
  that never uses them. twilio's own async client would add aiohttp (~10 MB), and its
  generated ``MessageList`` the ~80 resource modules of an account (~7 MB).
- **Twilio's own exception for Twilio's refusals** (``TwilioRestException`` with the
  status and code), which ``TwilioApi`` classifies. Twilio's message is left out of
  it: it can quote the number it refused.
- **The transport's failures as ``TransportFailed``** (``bot.channels.http_pool``),
  which tells a request that never left from one that may have arrived.
- Nothing here logs: URLs hold message ids.
"""

from __future__ import annotations

import base64
import json
import platform
from typing import Any
from urllib.parse import urlencode, urlsplit

from twilio.base.exceptions import TwilioRestException

from bot.channels.http_pool import Answer, ConnectionPool

API_VERSION = "2010-04-01"


class MessagesApi:
    """The three calls the help line makes, for one account at ``base_url``."""

    def __init__(self, account_sid: str, auth_token: str, base_url: str) -> None:
        self._pool = ConnectionPool(base_url)
        # A gateway may serve the API under a path of its own, as twilio's client allows.
        prefix = urlsplit(base_url).path.rstrip("/")
        self._account = f"{prefix}/{API_VERSION}/Accounts/{account_sid}"
        token = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._headers = (
            ("Authorization", f"Basic {token}"),
            ("User-Agent", f"helpline (Python/{platform.python_version()})"),
            ("Accept", "application/json"),
        )

    async def create(self, form: dict[str, str]) -> dict[str, Any]:
        """Create one message (``To``, ``Body`` and a sender); Twilio's record as a dict.

        A 2xx whose body is not a JSON object means Twilio took the message all the
        same: an empty record, which has no sid."""
        target = f"{self._account}/Messages.json"
        answer = await self._pool.request(
            "POST",
            target,
            (*self._headers, ("Content-Type", "application/x-www-form-urlencoded")),
            urlencode(form).encode(),
        )
        _raise_for_refusal("POST", target, answer)
        return _record(answer)

    async def delete(self, sid: str) -> None:
        """Delete one message record; raises Twilio's 404 (code 20404) once it is gone."""
        target = f"{self._account}/Messages/{sid}.json"
        answer = await self._pool.request("DELETE", target, self._headers)
        _raise_for_refusal("DELETE", target, answer)

    async def account(self) -> dict[str, Any]:
        target = f"{self._account}.json"
        answer = await self._pool.request("GET", target, self._headers)
        _raise_for_refusal("GET", target, answer)
        return _record(answer)

    async def close(self) -> None:
        await self._pool.close()


def _raise_for_refusal(method: str, target: str, answer: Answer) -> None:
    if 200 <= answer.status < 300:
        return
    code = _record(answer).get("code")
    raise TwilioRestException(
        answer.status, target, code=code if isinstance(code, int) else None, method=method
    )


def _record(answer: Answer) -> dict[str, Any]:
    try:
        record = json.loads(answer.body)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}
