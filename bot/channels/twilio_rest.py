"""Twilio's Messages API through the ``twilio`` library, carried by httpcore.

Imported only when a worker first talks to Twilio (``bot.channels.twilio_api``): what
this module pulls in is the SMS path's whole cost in memory, so it pulls in little.

- **The transport is httpcore, not aiohttp, nor httpx's client.** ``twilio``'s own
  ``AsyncTwilioHttpClient`` is built on aiohttp (and aiohttp-retry), ~9.6 MB resident
  in a worker for one POST and one DELETE at a time. httpcore is httpx's own
  connection pool (installed with httpx, which is a dependency): ~0.5 MB, because a
  worker already has h11 and anyio. ``import httpx`` itself costs 2.5-5 MB more: its
  ``__init__`` imports its command-line tool, which loads click, pygments and rich
  wherever they are installed (the test extras), and its client logs every request's
  URL at INFO (a URL here holds a message id). httpcore's errors tell a connection
  never made (``ConnectError``) from one lost mid-request, which is what the
  no-double-text rule needs.
- **Messages through twilio's generic ``Version``, not ``client.messages``.** The
  generated ``MessageList`` cannot be imported alone: its package's ``__init__``
  imports all ~80 resource modules of an account (calls, conferences, queues...),
  ~7 MB a worker never uses. ``Version.create_async`` / ``delete_async`` /
  ``fetch_async`` are exactly what ``MessageList`` calls, with twilio's own
  authentication, headers and error parsing (``TwilioRestException`` with Twilio's
  code and status); only the three documented URIs and form fields are written here.
- **One TLS context for every connection.** Without one, httpcore builds a new context
  for each connection it opens, loading the system's CA certificates and certifi's: 82
  ms of CPU on the event loop (docs/benchmarks.md, step nine), for each connection a
  burst opens beyond the 20 it keeps alive. The context is httpcore's own default (the
  system's CAs and certifi's, the hostname checked), made once per worker.
- Nothing here logs: twilio's and httpx's clients log each request's URL at INFO,
  and URLs hold message ids.
"""

from __future__ import annotations

import base64
import ssl
from typing import Any
from urllib.parse import urlencode

import certifi
import httpcore
from twilio.base import values
from twilio.base.domain import Domain
from twilio.base.version import Version
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.channels.twilio_api import TransportFailed

API_VERSION = "2010-04-01"
_FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
_NEVER_CONNECTED = (httpcore.ConnectError, httpcore.ConnectTimeout, httpcore.PoolTimeout)
"""Failures before a request left this process: Twilio surely did not receive it."""
BACKSTOP_SECONDS = 60.0
"""httpcore's own limit, only a backstop: callers bound each call far below it."""
_FAILED = (
    httpcore.NetworkError,
    httpcore.TimeoutException,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ProxyError,
)


class HttpcoreTransport(AsyncHttpClient):  # type: ignore[misc]
    """twilio's ``AsyncHttpClient`` interface over one httpcore connection pool.

    The caller bounds each whole call (``asyncio.timeout`` in ``TwilioApi``), so a
    time-out is one thing with one clock; httpcore's own limit is a distant backstop.
    The pool's sizes are httpx's defaults. No proxy variables, no ``.netrc``: as with
    twilio's aiohttp client before, the environment is not read."""

    def __init__(self) -> None:
        super().__init__(logger=None, is_async=True, timeout=None)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=tls_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
        )

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
        if params:
            url = f"{url}?{urlencode(params, doseq=True)}"
        body = urlencode(data, doseq=True).encode() if data else None
        limit = BACKSTOP_SECONDS if timeout is None else timeout
        try:
            answer = await self._pool.request(
                method,
                url,
                headers=list(headers.items()),
                content=body,
                extensions={"timeout": dict.fromkeys(("connect", "read", "write", "pool"), limit)},
            )
        except _FAILED as error:
            # The name of the error class only: a message can quote the URL.
            raise TransportFailed(
                type(error).__name__, unsent=isinstance(error, _NEVER_CONNECTED)
            ) from None
        text = answer.content.decode("utf-8", errors="replace")
        return Response(answer.status, text, {k.decode(): v.decode() for k, v in answer.headers})

    async def close(self) -> None:
        await self._pool.aclose()


def tls_context() -> ssl.SSLContext:
    """Verify Twilio as httpcore does by default: the system's CAs and certifi's."""
    context = ssl.create_default_context()
    context.load_verify_locations(certifi.where())
    return context


class MessagesApi:
    """The three calls the help line makes, for one account at ``base_url``."""

    def __init__(self, account_sid: str, auth_token: str, base_url: str) -> None:
        self.transport = HttpcoreTransport()
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
