"""Twilio's Messages API through the ``twilio`` library, carried by httpx.

Imported only when a worker first talks to Twilio (``bot.channels.twilio_api``): what
this module pulls in is the SMS path's whole cost in memory, so it pulls in little.

- **The transport is httpx, not aiohttp.** ``twilio``'s own ``AsyncTwilioHttpClient``
  is built on aiohttp (and aiohttp-retry), which costs a worker ~9.6 MB resident for
  one POST and one DELETE at a time. httpx is already a dependency (python-telegram-bot
  speaks through it, so a worker with both channels loads it once) and costs ~2.5 MB
  where its optional CLI (rich, pygments) is not installed, ~5 MB where it is (the
  test extras). Its errors tell a connection never made (``ConnectError``) from one
  lost mid-request, which is what the no-double-text rule needs.
- **Messages through twilio's generic ``Version``, not ``client.messages``.** The
  generated ``MessageList`` cannot be imported alone: its package's ``__init__``
  imports all ~80 resource modules of an account (calls, conferences, queues...),
  ~7 MB a worker never uses. ``Version.create_async`` / ``delete_async`` /
  ``fetch_async`` are exactly what ``MessageList`` calls, with twilio's own
  authentication, headers and error parsing (``TwilioRestException`` with Twilio's
  code and status); only the three documented URIs and form fields are written here.
- Nothing here logs: twilio's and httpx's clients log each request's URL at INFO,
  and URLs hold message ids.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
from twilio.base import values
from twilio.base.domain import Domain
from twilio.base.version import Version
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.channels.twilio_api import TransportFailed

API_VERSION = "2010-04-01"
_FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
_NEVER_CONNECTED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Failures before a request left this process: Twilio surely did not receive it."""
BACKSTOP_SECONDS = 60.0
"""httpx's own limit, only a backstop: callers bound each call far below it."""


class HttpxTransport(AsyncHttpClient):  # type: ignore[misc]
    """twilio's ``AsyncHttpClient`` interface over one pooled httpx transport.

    httpx's transport, not its ``AsyncClient``: the client logs every request's URL at
    INFO, and a URL here holds a message id (twilio's aiohttp client logged none where
    the help line sent it). The caller bounds each whole call (``asyncio.timeout`` in
    ``TwilioApi``), so a time-out is one thing with one clock; httpx's own limit is a
    distant backstop. The environment is not read (no proxy variables, no ``.netrc``),
    as with twilio's aiohttp client before."""

    def __init__(self) -> None:
        super().__init__(logger=None, is_async=True, timeout=None)
        self._transport = httpx.AsyncHTTPTransport(trust_env=False)

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - twilio's own signature
        allow_redirects: bool = False,  # twilio's API answers without redirects
    ) -> Response:
        headers = dict(headers or {})
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        limit = httpx.Timeout(BACKSTOP_SECONDS if timeout is None else timeout)
        request = httpx.Request(
            method,
            url,
            params=params,  # type: ignore[arg-type]
            data=data,
            headers=headers,
            extensions={"timeout": limit.as_dict()},
        )
        try:
            answer = await self._transport.handle_async_request(request)
            try:
                await answer.aread()
            finally:
                await answer.aclose()
        except httpx.TransportError as error:
            # The name of the error class only: httpx's messages can quote the URL.
            raise TransportFailed(
                type(error).__name__, unsent=isinstance(error, _NEVER_CONNECTED)
            ) from None
        return Response(answer.status_code, answer.text, answer.headers)

    async def close(self) -> None:
        await self._transport.aclose()


class MessagesApi:
    """The three calls the help line makes, for one account at ``base_url``."""

    def __init__(self, account_sid: str, auth_token: str, base_url: str) -> None:
        self.transport = HttpxTransport()
        client = Client(account_sid, auth_token, http_client=self.transport)
        self._version = Version(Domain(client, base_url.rstrip("/")), API_VERSION)
        self._account = f"/Accounts/{account_sid}"

    async def create(self, form: dict[str, str]) -> dict[str, Any]:
        """Create one message (``To``, ``Body`` and a sender); Twilio's record as a dict."""
        record: dict[str, Any] = await self._version.create_async(
            method="POST",
            uri=f"{self._account}/Messages.json",
            data=values.of(form),
            headers=dict(_FORM),
        )
        return record

    async def delete(self, sid: str) -> None:
        await self._version.delete_async(
            method="DELETE", uri=f"{self._account}/Messages/{sid}.json"
        )

    async def account(self) -> dict[str, Any]:
        record: dict[str, Any] = await self._version.fetch_async(
            method="GET", uri=f"{self._account}.json"
        )
        return record

    async def close(self) -> None:
        await self.transport.close()
