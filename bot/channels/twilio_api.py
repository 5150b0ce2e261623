"""The Twilio REST calls the help line makes: send one SMS, delete one message record.

The real ``twilio`` client with its aiohttp-based ``AsyncTwilioHttpClient``, pointed at
``TWILIO_API_BASE_URL``. Every failure becomes a ``Failure`` value: nothing here raises
to a caller, retries are few and bounded, and nothing logged names a number or a text
(Twilio's own error messages can quote the number, so only codes are logged).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bot.settings import Settings

log = logging.getLogger(__name__)

# The twilio client logs each request's URL and headers at INFO; keep that out of the
# help line's logs (URLs carry message ids, which are not needed there).
_quiet = logging.getLogger("bot.channels.twilio_http")
_quiet.setLevel(logging.WARNING)

SEND_TIMEOUT = 10.0
"""Seconds one API call may take before it counts as timed out."""
RETRY_DELAYS: tuple[float, ...] = (0.5, 2.0)
"""Pauses before the second and third attempt after a 5xx or a time-out; then give up.

A send is retried only when Twilio surely did not take it (a 5xx, a 429, a refused
connection): after a time-out or a connection lost mid-request the message may have
been created, and a second ``messages.create`` would text the person twice."""

OPTED_OUT = 21610
INVALID_NUMBER = frozenset({21211, 21614, 21612, 21408, 21617})
NOT_FOUND = 20404


class Failure(StrEnum):
    OPTED_OUT = "opted_out"
    INVALID_NUMBER = "invalid_number"
    REFUSED = "refused"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    NETWORK = "network"


@dataclass(frozen=True, slots=True)
class Sent:
    sid: str | None = None
    failure: Failure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


_TRANSIENT = (Failure.SERVER_ERROR, Failure.TIMEOUT, Failure.NETWORK)


class _TwilioHttp(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Basic auth as a plain header: aiohttp 3.14 deprecates the ``BasicAuth`` object."""

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - twilio's own signature
        allow_redirects: bool = False,
    ) -> Any:
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers = {**(headers or {}), "Authorization": f"Basic {token}"}
        return await super().request(
            method, url, params, data, headers, None, timeout, allow_redirects
        )


class TwilioApi:
    """One account's client; created lazily inside the running event loop."""

    def __init__(
        self,
        settings: Settings,
        *,
        count: Callable[[str], None],
        timeout: float = SEND_TIMEOUT,
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self._settings = settings
        self._count = count
        self._timeout = timeout
        self._retry_delays = tuple(retry_delays)
        self._client: Any = None
        self._http: _TwilioHttp | None = None

    def _ensure_client(self) -> Any:
        if self._client is None:
            settings = self._settings
            assert settings.twilio_account_sid and settings.twilio_auth_token
            self._http = _TwilioHttp(logger=_quiet)
            client = Client(
                settings.twilio_account_sid,
                settings.twilio_auth_token.get_secret_value(),
                http_client=self._http,
            )
            # A plain attribute: how the client reaches a self-hosted gateway or a test fake.
            client.api.base_url = settings.twilio_api_base_url.rstrip("/")
            self._client = client
        return self._client

    async def send(self, *, to: str, body: str, status_callback: str | None) -> Sent:
        """Send one SMS; retry a 5xx or a time-out a bounded number of times."""
        settings = self._settings
        sender: dict[str, str] = (
            {"messaging_service_sid": settings.twilio_messaging_service_sid}
            if settings.twilio_messaging_service_sid
            else {"from_": settings.twilio_from_number or ""}
        )
        if status_callback:
            sender["status_callback"] = status_callback

        async def create() -> Any:
            return await self._ensure_client().messages.create_async(to=to, body=body, **sender)

        result, failure = await self._attempt("send", create, repeatable=False)
        if failure is not None:
            return Sent(failure=failure)
        return Sent(sid=getattr(result, "sid", None))

    async def account_status(self) -> str | None:
        """The account's status ("active", "suspended"...), or None if the credentials fail."""
        settings = self._settings

        async def fetch() -> Any:
            client = self._ensure_client()
            return await client.api.v2010.accounts(settings.twilio_account_sid).fetch_async()

        result, failure = await self._attempt("account", fetch)
        if failure is not None:
            return None
        return str(getattr(result, "status", "unknown"))

    async def delete(self, sid: str) -> bool:
        """Delete one message record (and its media) at Twilio, one attempt; True once gone.

        Retrying is the caller's: ``bot.channels.carrier_cleanup`` paces and repeats it."""

        async def remove() -> Any:
            return await self._ensure_client().messages(sid).delete_async()

        _, failure = await self._attempt("delete", remove, missing_ok=True, retry=False)
        if failure is None:
            self._count("sms.deleted")
            return True
        return False

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
        self._client = self._http = None

    async def _attempt(
        self,
        action: str,
        call: Callable[[], Any],
        *,
        missing_ok: bool = False,
        repeatable: bool = True,
        retry: bool = True,
    ) -> tuple[Any, Failure | None]:
        delays = (0.0, *self._retry_delays) if retry else (0.0,)
        failure: Failure | None = None
        for attempt, delay in enumerate(delays, start=1):
            maybe_done = False
            if delay:
                await asyncio.sleep(delay)
            try:
                async with asyncio.timeout(self._timeout):
                    return await call(), None
            except TwilioException as error:
                code, status = getattr(error, "code", None), getattr(error, "status", 0)
                if missing_ok and (code == NOT_FOUND or status == 404):
                    return None, None
                failure = _classify(code, status)
                log.warning(
                    "twilio %s failed attempt=%d status=%s code=%s", action, attempt, status, code
                )
            except TimeoutError:
                failure, maybe_done = Failure.TIMEOUT, True
                log.warning("twilio %s timed out attempt=%d", action, attempt)
            except aiohttp.ClientError as error:
                failure = Failure.NETWORK
                maybe_done = not isinstance(error, aiohttp.ClientConnectorError)
                log.warning(
                    "twilio %s network error attempt=%d error=%s",
                    action,
                    attempt,
                    type(error).__name__,
                )
            self._count(f"sms.error.{failure}")
            if failure not in _TRANSIENT or (maybe_done and not repeatable):
                break
        return None, failure


def _classify(code: int | None, status: int) -> Failure:
    if code == OPTED_OUT:
        return Failure.OPTED_OUT
    if code in INVALID_NUMBER:
        return Failure.INVALID_NUMBER
    if status >= 500 or status == 429:
        return Failure.SERVER_ERROR
    return Failure.REFUSED
