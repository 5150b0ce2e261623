"""The connection pool under Twilio's calls, against servers that misbehave on purpose.

Each server here speaks raw HTTP/1.1 on 127.0.0.1, so a test decides exactly when an
answer arrives, how it is framed and when a connection closes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest

from bot.channels.http_pool import MAX_ANSWER_BYTES, ConnectionPool, TransportFailed
from bot.channels.twilio_rest import MessagesApi

ACCOUNT = "AC" + "0" * 32
FORM = {"To": "+40721000111", "Body": "Bună, suntem aici.", "From": "+15005550006"}

# On both event loops: the workers run on uvloop, whose transports are not asyncio's.
pytestmark = pytest.mark.asyncio(loop_factories=["asyncio", "uvloop"])

Respond = Callable[[int, asyncio.StreamWriter], Awaitable[None]]
"""Given the request's number on the server (1, 2…), write its answer."""


def created(number: int) -> bytes:
    """A 201 with a JSON record whose sid tells which request it answers."""
    return json.dumps({"sid": f"SM{number:032d}", "status": "queued"}).encode()


def whole(status: str, body: bytes, *extra: str) -> bytes:
    head = [f"HTTP/1.1 {status}", "Content-Type: application/json", *extra]
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@asynccontextmanager
async def server(answer: Respond) -> AsyncIterator[tuple[str, list[int]]]:
    """A server calling ``answer`` for each request head; yields its URL and, per
    connection, how many requests it carried."""
    connections: list[int] = []
    numbers = itertools.count(1)
    handlers: set[asyncio.Task[object]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        index = len(connections)
        connections.append(0)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                connections[index] += 1
                await answer(next(numbers), writer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    listening = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        listening.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


@asynccontextmanager
async def messages(url: str) -> AsyncIterator[MessagesApi]:
    api = MessagesApi(ACCOUNT, "token", url)
    try:
        yield api
    finally:
        await api.close()


async def test_a_reply_after_twilio_closed_an_idle_connection_goes_out_on_a_new_one() -> None:
    async def answer_then_hang_up_soon(number: int, writer: asyncio.StreamWriter) -> None:
        writer.write(whole("201 Created", created(number)))
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()

    async with server(answer_then_hang_up_soon) as (url, connections), messages(url) as api:
        first = await api.create(FORM)
        await asyncio.sleep(0.3)  # the connection is closed by now, and kept no longer
        second = await api.create(FORM)
    assert (first["sid"], second["sid"]) == ("SM" + "1".zfill(32), "SM" + "2".zfill(32))
    assert connections == [1, 1]


async def test_connections_are_kept_alive_between_replies() -> None:
    async def answer(number: int, writer: asyncio.StreamWriter) -> None:
        writer.write(whole("201 Created", created(number)))

    async with server(answer) as (url, connections), messages(url) as api:
        sids = [(await api.create(FORM))["sid"] for _ in range(5)]
    assert len(set(sids)) == 5
    assert connections == [5]


async def test_an_answer_that_arrives_after_its_time_out_is_never_taken_for_the_next_one() -> None:
    # The late answer says SM…1 was created; the next send must read its own, SM…2.
    async def slow_first(number: int, writer: asyncio.StreamWriter) -> None:
        if number == 1:
            await asyncio.sleep(0.4)
        writer.write(whole("201 Created", created(number)))

    async with server(slow_first) as (url, connections), messages(url) as api:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await api.create(FORM)
        second = await api.create(FORM)
        await asyncio.sleep(0.5)  # the first answer arrives, at a connection closed
    assert second["sid"] == "SM" + "2".zfill(32)
    assert len(connections) == 2


async def test_an_answer_in_chunks_and_pieces_is_read_whole() -> None:
    async def chunked(number: int, writer: asyncio.StreamWriter) -> None:
        body = created(number)
        writer.write(
            b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        await writer.drain()
        for start in range(0, len(body), 7):
            piece = body[start : start + 7]
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            await writer.drain()
            await asyncio.sleep(0.001)
        writer.write(b"0\r\n\r\n")

    async with server(chunked) as (url, connections), messages(url) as api:
        records = [await api.create(FORM), await api.create(FORM)]
    assert [record["sid"] for record in records] == ["SM" + "1".zfill(32), "SM" + "2".zfill(32)]
    assert connections == [2]


async def test_an_answer_that_says_connection_close_is_not_kept() -> None:
    async def closing(number: int, writer: asyncio.StreamWriter) -> None:
        writer.write(whole("201 Created", created(number), "Connection: close"))

    async with server(closing) as (url, connections), messages(url) as api:
        records = [await api.create(FORM), await api.create(FORM)]
    assert [record["sid"] for record in records] == ["SM" + "1".zfill(32), "SM" + "2".zfill(32)]
    assert len(connections) == 2


async def test_an_answer_nobody_asked_for_closes_its_connection() -> None:
    # A second answer after the first: the connection is out of step and must not be
    # asked again, or the next send would read SM…99 as its own.
    async def twice(number: int, writer: asyncio.StreamWriter) -> None:
        writer.write(whole("201 Created", created(number)))
        if number == 1:
            writer.write(whole("201 Created", created(99)))

    async with server(twice) as (url, connections), messages(url) as api:
        first = await api.create(FORM)
        await asyncio.sleep(0.05)
        second = await api.create(FORM)
    assert (first["sid"], second["sid"]) == ("SM" + "1".zfill(32), "SM" + "2".zfill(32))
    assert len(connections) == 2


@pytest.mark.parametrize(
    "reply",
    [
        b"",
        b"garbage that is not HTTP\r\n\r\n",
        b"HTTP/1.1 201 Created\r\nContent-Length: 90\r\n\r\n{",
        whole("201 Created", b"{" + b" " * MAX_ANSWER_BYTES + b"}"),
    ],
    ids=["hang-up", "not-http", "cut-short", "too-large"],
)
async def test_a_request_that_got_no_whole_answer_may_have_arrived(reply: bytes) -> None:
    # TwilioApi never repeats a send that may have arrived (tests/channels/test_sms_sender.py).
    async def broken(number: int, writer: asyncio.StreamWriter) -> None:
        writer.write(reply)
        await writer.drain()
        writer.close()

    async with server(broken) as (url, connections), messages(url) as api:
        with pytest.raises(TransportFailed) as failed:
            await api.create(FORM)
    assert failed.value.unsent is False
    assert connections == [1]
    # Named by its class only: nothing of the form is in the error.
    assert "+40721000111" not in str(failed.value) and "Bun" not in str(failed.value)


@contextmanager
def swallowing(host: str, port: int) -> Iterator[None]:
    """An address that takes no connection and refuses none: its queue of connections
    nobody accepts is full, so the kernel drops every new one's first packet, as a
    network does that announces an address it does not route."""
    listening = socket.socket()
    listening.bind((host, port))
    listening.listen(0)
    queued = []
    for _ in range(3):
        waiting = socket.socket()
        waiting.setblocking(False)
        waiting.connect_ex((host, port))
        queued.append(waiting)
    try:
        yield
    finally:
        for waiting in queued:
            waiting.close()
        listening.close()


async def test_a_first_address_that_drops_packets_does_not_hold_up_a_reply(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def answer(number: int, writer: asyncio.StreamWriter) -> None:
        writer.write(whole("201 Created", created(number)))

    async with server(answer) as (url, connections):
        port = int(url.rsplit(":", 1)[1])

        async def resolved(pool: ConnectionPool) -> list[tuple[str, int]]:
            # What a resolver answers for a host with two addresses, the dead one first.
            return [("127.0.0.2", port), ("127.0.0.1", port)]

        monkeypatch.setattr(ConnectionPool, "_addresses", resolved)
        with swallowing("127.0.0.2", port):
            async with messages(url) as api, asyncio.timeout(3):  # TwilioApi allows 10 s
                record = await api.create(FORM)
    assert record["sid"] == "SM" + "1".zfill(32)
    assert connections == [1]
