"""The Twilio REST calls the help line makes: send one SMS, delete one message record.

Twilio's REST API at ``TWILIO_API_BASE_URL``, called by ``bot.channels.twilio_rest``
over the help line's own connection pool (that module says why not twilio's clients).
It is imported at the first call, not here: a worker that never talks to Twilio's API
never loads it. Every failure becomes a ``Failure`` value: nothing here raises to a
caller, retries are few and bounded, and nothing logged names a number or a text
(Twilio's own error messages can quote the number, so only codes are logged).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from twilio.base.exceptions import TwilioException

from bot.channels.http_pool import TransportFailed
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.channels.twilio_rest import MessagesApi

log = logging.getLogger(__name__)
T = TypeVar("T")

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
        self._messages: MessagesApi | None = None

    def _ensure_client(self) -> MessagesApi:
        if self._messages is None:
            # Here, not at the top: the REST client and httpx load at the first call.
            from bot.channels.twilio_rest import MessagesApi

            settings = self._settings
            assert settings.twilio_account_sid and settings.twilio_auth_token
            self._messages = MessagesApi(
                settings.twilio_account_sid,
                settings.twilio_auth_token.get_secret_value(),
                # How the client reaches a self-hosted gateway or a test fake.
                settings.twilio_api_base_url,
            )
        return self._messages

    async def send(self, *, to: str, body: str, status_callback: str | None) -> Sent:
        """Send one SMS; retry a 5xx or a time-out a bounded number of times."""
        settings = self._settings
        form = {"To": to, "Body": body}
        if settings.twilio_messaging_service_sid:
            form["MessagingServiceSid"] = settings.twilio_messaging_service_sid
        else:
            form["From"] = settings.twilio_from_number or ""
        if status_callback:
            form["StatusCallback"] = status_callback

        def create() -> Awaitable[dict[str, Any]]:
            return self._ensure_client().create(form)

        result, failure = await self._attempt("send", create, repeatable=False)
        if failure is not None or result is None:
            return Sent(failure=failure)
        sid = result.get("sid")
        return Sent(sid=sid if isinstance(sid, str) else None)

    async def account_status(self) -> str | None:
        """The account's status ("active", "suspended"...), or None if the credentials fail."""

        def fetch() -> Awaitable[dict[str, Any]]:
            return self._ensure_client().account()

        result, failure = await self._attempt("account", fetch)
        if failure is not None or result is None:
            return None
        return str(result.get("status") or "unknown")

    async def delete(self, sid: str) -> bool:
        """Delete one message record (and its media) at Twilio, one attempt; True once gone.

        Retrying is the caller's: ``bot.channels.carrier_cleanup`` paces and repeats it."""

        def remove() -> Awaitable[None]:
            return self._ensure_client().delete(sid)

        _, failure = await self._attempt("delete", remove, missing_ok=True, retry=False)
        if failure is None:
            self._count("sms.deleted")
            return True
        return False

    async def close(self) -> None:
        if self._messages is not None:
            await self._messages.close()
        self._messages = None

    async def _attempt(
        self,
        action: str,
        call: Callable[[], Awaitable[T]],
        *,
        missing_ok: bool = False,
        repeatable: bool = True,
        retry: bool = True,
    ) -> tuple[T | None, Failure | None]:
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
            except TransportFailed as error:
                failure = Failure.NETWORK
                maybe_done = not error.unsent
                log.warning(
                    "twilio %s network error attempt=%d error=%s", action, attempt, error.cause
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
