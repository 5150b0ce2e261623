"""HTTP/1.1 requests to one origin over kept-alive connections: asyncio and httptools.

The help line talks to one HTTP API from a worker's event loop: Twilio's, for replies
and for deleting message records. This pool is all it needs for that, and nothing more:

- **asyncio's own transports and llhttp.** Each connection is an ``asyncio.Protocol``
  (TLS by asyncio's own SSL transport) whose bytes go to httptools' response parser,
  llhttp in C, the parser uvicorn already loads for the webhooks. Through httpcore,
  one request to a local server cost 590-690 µs of CPU; most of it went to anyio's
  cancel scopes and to the pool looking over every connection, polling each socket,
  before each request and at each response's end (docs/benchmarks.md, step eleven).
  Here a connection learns it was closed when the event loop says so
  (``connection_lost``), so taking one from the pool is a look at one flag.
- **A failure says whether the request may have arrived.** ``TransportFailed`` with
  ``unsent`` when no connection was made, so the server surely did not get the request
  and even a send may be tried again; without it when the request went out and no
  whole answer came back (the connection lost, an answer that is not HTTP), so a send
  must not be repeated. A cancelled or timed-out request closes its connection: an
  answer that arrives late is never read as the answer to the next request.
- **Small requests, whole answers.** A request is written at once (the transport
  buffers it; Twilio's forms are a few kB), and an answer is read whole into memory
  before it is returned, up to ``MAX_ANSWER_BYTES``: a larger one fails as lost. An answer must say where it ends (``Content-Length`` or
  chunked), as every answer of Twilio's does; one that ends only when the connection
  closes counts as lost.
- **No logging, nothing from the environment.** Request lines hold record ids; errors
  are named by class only. No proxy variables and no ``.netrc`` are read.

The caller bounds each whole call with its own time-out; ``BACKSTOP_SECONDS`` only
keeps a forgotten one from hanging for ever.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import ssl
from collections import deque
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import certifi
import httptools

BACKSTOP_SECONDS = 60.0
"""The longest one request may take, connecting included, whatever the caller allows."""
MAX_CONNECTIONS = 100
"""Requests in flight at once (each on its own connection); more wait for a turn."""
MAX_IDLE = 20
"""Connections kept open between requests; one more is closed when its request ends."""
IDLE_SECONDS = 5.0
"""A connection idle for longer is closed instead of reused: servers close them too."""
NEXT_ADDRESS_SECONDS = 0.25
"""How long a connection attempt has before the origin's next address is tried too."""
CLOSE_SECONDS = 1.0
"""How long closing the pool waits for TLS connections to close cleanly."""
MAX_ANSWER_BYTES = 1 << 20
"""An answer's body past this size fails the request as lost (Twilio's are a few kB)."""


def tls_context() -> ssl.SSLContext:
    """Verify servers as httpx and httpcore do: the system's CAs and certifi's, the name
    checked. Made once per pool: loading every CA certificate costs tens of
    milliseconds of CPU, which a context per connection would spend on the event loop."""
    context = ssl.create_default_context()
    context.load_verify_locations(certifi.where())
    return context


class TransportFailed(Exception):
    """The HTTP exchange itself failed (no whole answer); named by class only.

    ``unsent`` when the connection was never made, so the server surely did not get
    the request and even a send may be tried again."""

    def __init__(self, cause: str, *, unsent: bool) -> None:
        super().__init__(cause)
        self.cause = cause
        self.unsent = unsent


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class ConnectionPool:
    """Kept-alive HTTP/1.1 connections to the origin of ``base_url`` (http or https).

    ``tls`` verifies an https origin (``tls_context()`` unless given); the same context
    serves every connection."""

    def __init__(
        self,
        base_url: str,
        *,
        tls: ssl.SSLContext | None = None,
        max_connections: int = MAX_CONNECTIONS,
        max_idle: int = MAX_IDLE,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the base URL must be http:// or https:// with a host")
        secure = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if secure else 80)
        self._tls = (tls or tls_context()) if secure else None
        self._host_header = parts.netloc.rpartition("@")[2]
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: deque[_Connection] = deque()
        self._max_idle = max_idle
        self._idle_seconds = idle_seconds
        self._open_connections: set[_Connection] = set()
        """Every connection not closed yet, closing ones included, for ``close`` to wait on."""

    async def request(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> Answer:
        """Send one request (``target`` is the path and query) and read its whole answer."""
        message = self._message(method, target, headers, body)
        async with self._slots, asyncio.timeout(BACKSTOP_SECONDS):
            connection = self._kept() or await self._connect()
            try:
                answer = await connection.exchange(message)
            except BaseException:
                connection.close()
                raise
            if connection.reusable and len(self._idle) < self._max_idle:
                connection.idle_since = asyncio.get_running_loop().time()
                self._idle.append(connection)
            else:
                connection.close()
            return answer

    async def close(self) -> None:
        """Close every connection; requests still running fail as lost.

        A TLS connection waits for the server's own close for at most a second."""
        self._idle.clear()
        connections = list(self._open_connections)
        for connection in connections:
            connection.close()
        if connections:
            await asyncio.wait(
                [connection.closed for connection in connections], timeout=CLOSE_SECONDS
            )
        for connection in list(self._open_connections):
            connection.abort()

    def _message(
        self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> bytes:
        values = [method, target, *(part for header in headers for part in header)]
        # Our own values only, but a line break in one would smuggle a second request.
        if " " in target or not all(_one_line(value) for value in values):
            raise ValueError("a request line or header is not one line of plain ASCII")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self._host_header}"]
        lines.extend(f"{name}: {value}" for name, value in headers)
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        lines.append("\r\n")
        return "\r\n".join(lines).encode("ascii") + body

    def _kept(self) -> _Connection | None:
        """The most recently used connection still open and fresh, closing stale ones."""
        oldest_fresh = asyncio.get_running_loop().time() - self._idle_seconds
        while self._idle:
            connection = self._idle.pop()
            if not connection.lost and connection.idle_since >= oldest_fresh:
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        """A new connection to the first of the origin's addresses that answers.

        The addresses are tried as RFC 8305 says ("happy eyeballs", as anyio did under
        httpcore): the next one starts when the last has not connected within
        ``NEXT_ADDRESS_SECONDS``, or at once when it failed, the two families taking
        turns. uvloop's ``create_connection`` tries them one after another, so a
        first address that drops packets (IPv6 announced but not routed) would hold
        every new connection until the caller's time-out."""
        try:
            addresses = await self._addresses()
            connection = await _first_to_answer([self._open(address) for address in addresses])
        except OSError as error:  # refused, unreachable, unknown host, TLS refused
            raise TransportFailed(type(error).__name__, unsent=True) from None
        self._open_connections.add(connection)
        connection.closed.add_done_callback(lambda _: self._open_connections.discard(connection))
        return connection

    async def _addresses(self) -> list[tuple[str, int]]:
        """The origin's addresses, the families taking turns from the resolver's first."""
        infos = await asyncio.get_running_loop().getaddrinfo(
            self._host, self._port, type=socket.SOCK_STREAM
        )
        families: dict[int, list[tuple[str, int]]] = {}
        for family, _, _, _, address in infos:
            families.setdefault(family, []).append((str(address[0]), int(address[1])))
        turns = itertools.zip_longest(*families.values())
        return [address for turn in turns for address in turn if address is not None]

    async def _open(self, address: tuple[str, int]) -> _Connection:
        _, connection = await asyncio.get_running_loop().create_connection(
            _Connection,
            *address,
            ssl=self._tls,
            server_hostname=self._host if self._tls else None,
        )
        return connection


async def _first_to_answer(attempts: Sequence[Coroutine[Any, Any, _Connection]]) -> _Connection:
    """The first attempt to connect, each started ``NEXT_ADDRESS_SECONDS`` after the last
    (or as soon as it failed); the others are cancelled or closed. Raises the last
    failure when none connects."""
    loop = asyncio.get_running_loop()
    waiting = list(attempts)
    running: set[asyncio.Task[_Connection]] = set()
    failure: OSError = ConnectionRefusedError("no address")
    try:
        while waiting or running:
            if waiting:
                running.add(loop.create_task(waiting.pop(0)))
            done, running = await asyncio.wait(
                running,
                timeout=NEXT_ADDRESS_SECONDS if waiting else None,
                return_when=asyncio.FIRST_COMPLETED,
            )
            connected = [task.result() for task in done if task.exception() is None]
            errors = [error for task in done if (error := task.exception()) is not None]
            for error in errors:
                if not isinstance(error, OSError):  # a bug, not a network's answer
                    for connection in connected:
                        connection.close()
                    raise error
                failure = error
            if connected:
                for extra in connected[1:]:
                    extra.close()
                return connected[0]
        raise failure
    finally:
        for task in running:
            task.cancel()
            task.add_done_callback(_close_if_connected)
        for attempt in waiting:
            attempt.close()  # never started


def _close_if_connected(task: asyncio.Task[_Connection]) -> None:
    if not task.cancelled() and task.exception() is None:
        task.result().close()


class _Connection(asyncio.Protocol):
    """One connection: at most one request at a time, its answer parsed as it arrives."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._answer: asyncio.Future[Answer] | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.lost = False
        self.reusable = False
        self.idle_since = 0.0

    async def exchange(self, message: bytes) -> Answer:
        if self.lost or self._transport is None:
            raise TransportFailed("ConnectionLost", unsent=False)
        self.reusable = False
        self._answer = asyncio.get_running_loop().create_future()
        self._transport.write(message)
        try:
            return await self._answer
        finally:
            self._answer = None

    def close(self) -> None:
        self.lost = True
        if self._transport is not None:
            self._transport.close()
        elif not self.closed.done():
            self.closed.set_result(None)

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    # asyncio's side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not derive from asyncio's classes, but behave as they do.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            # A callback's own refusal arrives here too, as HttpParserCallbackError.
            self._fail(type(error).__name__)

    def eof_received(self) -> bool:
        return False  # the server is done with this connection: close our side too

    def connection_lost(self, error: Exception | None) -> None:
        self._fail(type(error).__name__ if error else "ConnectionClosed")
        if not self.closed.done():
            self.closed.set_result(None)

    def _fail(self, cause: str) -> None:
        self.lost = True
        self.reusable = False
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(TransportFailed(cause, unsent=False))
        if self._transport is not None:
            self._transport.close()

    # httptools' side (llhttp calls these while ``feed_data`` runs)

    def on_message_begin(self) -> None:
        if self._answer is None or self._answer.done():
            # An answer nobody asked for: the connection is out of step.
            raise _Unasked
        self._headers, self._body, self._size = [], [], 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_ANSWER_BYTES:
            raise _TooLarge
        self._body.append(body)

    def on_message_complete(self) -> None:
        assert self._answer is not None  # on_message_begin made sure
        self.reusable = self._parser.should_keep_alive()
        self._answer.set_result(
            Answer(self._parser.get_status_code(), self._headers, b"".join(self._body))
        )


class _Unasked(Exception):
    """Raised inside the parser's callback; llhttp stops and ``feed_data`` raises."""


class _TooLarge(Exception):
    """An answer past ``MAX_ANSWER_BYTES``; raised as ``_Unasked`` is."""


def _one_line(value: str) -> bool:
    return value.isascii() and "\r" not in value and "\n" not in value
