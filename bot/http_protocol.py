"""uvicorn's httptools protocol with a limit on the size of a request head.

httptools (llhttp) is uvicorn's fast HTTP parser, but it has no limit of its own on
a request head: a header bomb would be buffered whole before any code of ours runs.
h11 has the limit and costs more: on this machine the help line answered 16 % more
SMS webhooks a second on httptools than on h11 (2026-11-30, ``python -m bench --only
sms``), the bare framework 42 % more. This subclass keeps httptools and adds the limit
twice over:

- **bytes fed while a head is open**: while a request head is incomplete, the parser
  is given at most ``HEADER_BYTES`` of it; a head still open after that is refused
  with 431. Body bytes are never counted (a 60 kB form in the same packet as its
  head is fine), so a slow head cannot grow the parser's buffer past the limit;
- **the head's own parts**: the URL and every header name and value are added up as
  the parser hands them over; past ``HEADER_BYTES`` the request never reaches the
  app and the connection is answered 431 and closed. This covers a head that arrives
  in one read with the end of the previous request's body.

It also sends a response's head with its body, in one write: uvicorn writes the
status line and headers, then the body, and each write is a system call on the event
loop's thread (``_HeadWithBody``; step twelve in ``docs/benchmarks.md``).

Everything else is uvicorn's (WebSocket upgrades included). Tied to uvicorn's
``HttpToolsProtocol`` callbacks (``on_message_begin``, ``on_url``, ``on_header``,
``on_headers_complete``, ``on_message_complete``, ``on_response_complete``) and to its
``RequestResponseCycle`` writing through ``cycle.transport``;
``tests/ops/test_http_head.py`` drives a real server through each case.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from bot.server_options import HEADER_BYTES

_REFUSAL = b"Request head too large."


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """httptools with a request-head size limit (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        """A request head has begun (or may begin) and is not complete yet."""
        self._fed = 0
        """Bytes given to the parser since the open head began."""
        self._head = 0
        """Bytes of the current request's URL and headers, as parsed."""
        self._too_large = False

    def data_received(self, data: bytes) -> None:
        while data:
            if self._in_head:
                room = HEADER_BYTES - self._fed
                if room <= 0:
                    self._refuse()
                    return
                piece, data = data[:room], data[room:]
                self._fed += len(piece)
            else:
                piece, data = data, b""
            super().data_received(piece)
            if self._too_large:
                self._refuse()
                return
            if self.transport.is_closing():
                return
            upgraded = self.transport.get_protocol()
            if upgraded is not self:
                # A WebSocket took the connection over: what follows is its own.
                if data and isinstance(upgraded, asyncio.Protocol):
                    upgraded.data_received(data)
                return

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head = 0
        self._too_large = False

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        if not self._too_large:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value))
        if not self._too_large:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if not self._too_large:  # a refused head never reaches the app
            super().on_headers_complete()
            cycle = self.cycle
            if (
                cycle is not None
                and not cycle.response_complete
                and cycle.transport is self.transport
            ):
                cycle.transport = cast(
                    "asyncio.Transport", _HeadWithBody(self.transport, self.loop)
                )

    def on_response_complete(self) -> None:
        writer = self.cycle.transport if self.cycle is not None else None
        if isinstance(writer, _HeadWithBody):
            writer.flush()  # a HEAD answer has no body to carry its head
        super().on_response_complete()

    def on_message_complete(self) -> None:
        if self._too_large:
            return
        super().on_message_complete()
        self._in_head = True
        self._fed = 0

    def _count(self, size: int) -> None:
        self._head += size
        if self._head > HEADER_BYTES:
            self._too_large = True

    def _refuse(self) -> None:
        if self.transport.is_closing():
            return
        self.transport.write(
            b"".join(
                (
                    STATUS_LINE[431],
                    b"content-type: text/plain; charset=utf-8\r\n",
                    b"content-length: %d\r\n" % len(_REFUSAL),
                    b"connection: close\r\n\r\n",
                    _REFUSAL,
                )
            )
        )
        self.transport.close()


class _HeadWithBody:
    """One response's writes: its head is held until its body's first write joins it.

    Held for one turn of the event loop at most (a response whose body comes later, or
    never, as for HEAD, has its head flushed then), and flushed before a close, so
    nothing is lost or reordered. Anything else is the connection's transport's.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None
        self._waiting_for_head = True

    def write(self, data: bytes) -> None:
        head, self._head = self._head, None
        if head is not None:
            if len(data) < _JOIN_BELOW:
                self._transport.write(head + data)
                return
            self._transport.write(head)
        elif self._waiting_for_head and not data.startswith(_CONTINUE):
            self._waiting_for_head = False
            self._head = data
            self._loop.call_soon(self.flush)
            return
        self._transport.write(data)

    def flush(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


_CONTINUE = b"HTTP/1.1 100 "
_JOIN_BELOW = 64 * 1024
"""A larger body is written after its head rather than copied onto it."""
