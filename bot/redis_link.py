"""One lean connection to Redis for the commands every message makes.

With several workers each message costs one or two Redis scripts (``bot/coherence.py``:
the look, the markers before a commit and their finalising after it, shared by the
turns in flight). Through redis-py's asyncio client one script call cost the worker
65 µs of CPU one at a time and 40 µs eight at a time; through redis-py's
``Connection`` alone 45 and 13; over this link 28 and 6.6 (EPYC, 2026-12-01,
``docs/benchmarks.md`` step twelve). The difference is asyncio's streams, the
connection pool, the retry wrapper and the command packer around each call.

The link is one ``asyncio.Protocol`` per worker. Commands are written as they come,
without waiting for earlier replies, and Redis answers a connection's commands in
the order sent, so replies are matched first in, first out. hiredis (C; redis-py's
own reply parser when installed) parses them and packs the commands. A request that
is not answered within the time-out ends the connection: every request still waiting
fails, and a late reply can never be taken for a later request's. The next command
opens a new connection.

What it keeps from redis-py, so both read a URL and fail alike:

- ``parse_url`` reads ``HELPLINE_REDIS_URL``: ``redis://``, ``rediss://`` (TLS, with
  ``ssl_cert_reqs``, ``ssl_ca_certs`` and ``ssl_check_hostname``) and ``unix://``;
  user name, password and database number. Tuning options are redis-py's own and
  are ignored here: the link has its own time-out.
- Errors are redis-py's classes: ``ConnectionError`` and ``TimeoutError`` (which
  ``bot/faults.py`` answers with 503), ``ResponseError`` for a command Redis refused,
  ``NoScriptError`` when a script is not loaded (the script is then sent whole).
  Their messages name the failure, never the URL (it holds the password) or a key.

redis-py stays for everything else (the relay's pub/sub, the Telegram quota, the
console's sign-in limits): none of those runs once per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import hiredis
from redis import exceptions as redis_errors
from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection, parse_url

TIMEOUT_SECONDS = 3.0
"""For connecting, and for each command's reply: as redis-py's ``socket_timeout`` was."""

Value = str | bytes | int
Reply = Any
"""What hiredis returns: bytes, int, None, or a list of replies."""

# hiredis's stub types the command as a one-element tuple; it takes any number.
_pack = cast("Callable[[tuple[Value, ...]], bytes]", hiredis.pack_command)


class RedisLink:
    """Commands over one connection, opened when first needed and again after a failure."""

    def __init__(self, url: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        options = parse_url(url)
        self._timeout = timeout
        self._path: str | None = options.get("path")
        self._host: str = options.get("host") or "localhost"
        self._port = int(options.get("port") or 6379)
        self._tls = (
            _tls_context(options) if options.get("connection_class") is SSLConnection else None
        )
        if options.get("connection_class") is UnixDomainSocketConnection and not self._path:
            raise ValueError("a unix:// Redis URL needs a socket path")
        self._greeting = _greeting(options)
        self._protocol: _Protocol | None = None
        self._opening: asyncio.Task[_Protocol] | None = None

    async def call(self, *command: Value) -> Reply:
        """Send one command; its reply, or a redis-py error."""
        protocol = self._protocol
        if protocol is None or protocol.ended:
            protocol = await self._open()
        reply = await protocol.send(_pack(command))
        if isinstance(reply, hiredis.ReplyError):
            raise _refusal(str(reply))
        return reply

    def script(self, source: str) -> Script:
        return Script(self, source)

    async def close(self) -> None:
        opening, self._opening = self._opening, None
        if opening is not None:
            opening.cancel()
            with contextlib.suppress(asyncio.CancelledError, redis_errors.RedisError):
                await opening
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            protocol.end(redis_errors.ConnectionError, "the Redis link was closed")

    async def _open(self) -> _Protocol:
        """Connect, or wait for the connection another caller is opening."""
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._connect())
            self._opening.add_done_callback(self._opened)
        # Shielded: a caller that gives up does not cancel the others' connection.
        return await asyncio.shield(self._opening)

    def _opened(self, opening: asyncio.Task[_Protocol]) -> None:
        if self._opening is opening:
            self._opening = None
        if not opening.cancelled() and opening.exception() is None:
            self._protocol = opening.result()

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()

        def protocol() -> _Protocol:
            return _Protocol(loop, self._timeout)

        try:
            async with asyncio.timeout(self._timeout):
                if self._path is not None:
                    _, made = await loop.create_unix_connection(protocol, self._path)
                else:
                    _, made = await loop.create_connection(
                        protocol, self._host, self._port, ssl=self._tls
                    )
        except TimeoutError:
            raise redis_errors.TimeoutError("Redis did not accept a connection in time") from None
        except OSError as error:  # refused, unreachable, or TLS refused (SSLError)
            raise redis_errors.ConnectionError(
                f"Redis could not be reached: {type(error).__name__}"
            ) from None
        for command in self._greeting:
            reply = await made.send(command)
            if isinstance(reply, hiredis.ReplyError):
                made.end(redis_errors.ConnectionError, "Redis refused the connection")
                # The first word only (e.g. WRONGPASS): never the URL's user or password.
                code = str(reply).split(" ", 1)[0]
                raise redis_errors.ConnectionError(f"Redis refused the connection: {code}")
        return made


class Script:
    """A Lua script called by its SHA-1, sent whole once if Redis has not loaded it."""

    def __init__(self, link: RedisLink, source: str) -> None:
        self._link = link
        self._source = source
        self._sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    async def __call__(self, keys: Sequence[str], args: Sequence[Value] = ()) -> Reply:
        try:
            return await self._link.call("EVALSHA", self._sha, len(keys), *keys, *args)
        except redis_errors.NoScriptError:
            # A restarted or flushed Redis: EVAL loads it again for the next EVALSHA.
            return await self._link.call("EVAL", self._source, len(keys), *keys, *args)


class _Protocol(asyncio.Protocol):
    """One connection: requests written in order, replies matched in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self._loop = loop
        self._timeout = timeout
        self._reader = hiredis.Reader()
        self._transport: asyncio.Transport | None = None
        self._waiting: deque[tuple[asyncio.Future[Reply], float]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self.ended = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses: cast, never isinstance.
        self._transport = cast("asyncio.Transport", transport)

    def send(self, command: bytes) -> asyncio.Future[Reply]:
        if self.ended or self._transport is None:
            raise redis_errors.ConnectionError("the connection to Redis was lost")
        future: asyncio.Future[Reply] = self._loop.create_future()
        deadline = self._loop.time() + self._timeout
        self._waiting.append((future, deadline))
        if self._timer is None:
            self._timer = self._loop.call_at(deadline, self._check)
        self._transport.write(command)
        return future

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        try:
            while (reply := self._reader.gets()) is not False:
                if not self._waiting:
                    self.end(redis_errors.ConnectionError, "Redis answered nothing asked")
                    return
                future, _ = self._waiting.popleft()
                if not future.done():  # its caller may have given up
                    future.set_result(reply)
        except hiredis.ProtocolError:
            self.end(redis_errors.ConnectionError, "Redis sent something that is not RESP")

    def connection_lost(self, exc: Exception | None) -> None:
        self.end(redis_errors.ConnectionError, "the connection to Redis was lost")

    def end(self, kind: type[redis_errors.RedisError], reason: str) -> None:
        """Close the connection; every request still waiting fails with ``kind``."""
        self.ended = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._transport is not None:
            self._transport.abort()
        while self._waiting:
            future, _ = self._waiting.popleft()
            if not future.done():
                future.set_exception(kind(reason))

    def _check(self) -> None:
        """The oldest request's deadline has come: end the connection if it is unanswered."""
        self._timer = None
        if not self._waiting:
            return
        deadline = self._waiting[0][1]
        if deadline <= self._loop.time():
            self.end(redis_errors.TimeoutError, f"Redis did not answer within {self._timeout} s")
        else:
            self._timer = self._loop.call_at(deadline, self._check)


def _greeting(options: Mapping[str, Any]) -> list[bytes]:
    """AUTH and SELECT, as the URL asks; sent first on every new connection."""
    commands = []
    password, username = options.get("password"), options.get("username")
    if password:
        auth = ("AUTH", username, password) if username else ("AUTH", password)
        commands.append(_pack(auth))
    if options.get("db"):
        commands.append(_pack(("SELECT", int(options["db"]))))
    return commands


def _tls_context(options: Mapping[str, Any]) -> ssl.SSLContext:
    """The context redis-py would build for ``rediss://`` with these options."""
    context = ssl.create_default_context(cafile=options.get("ssl_ca_certs"))
    requirement = options.get("ssl_cert_reqs", "required")
    if isinstance(requirement, str):
        modes = {
            "none": ssl.CERT_NONE,
            "optional": ssl.CERT_OPTIONAL,
            "required": ssl.CERT_REQUIRED,
        }
        if requirement.lower() not in modes:
            raise ValueError("ssl_cert_reqs must be none, optional or required")
        requirement = modes[requirement.lower()]
    if requirement == ssl.CERT_NONE or not options.get("ssl_check_hostname", True):
        context.check_hostname = False
    context.verify_mode = ssl.VerifyMode(requirement)
    return context


def _refusal(message: str) -> redis_errors.ResponseError:
    if message.startswith("NOSCRIPT"):
        return redis_errors.NoScriptError(message)
    return redis_errors.ResponseError(message)
