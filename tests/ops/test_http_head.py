"""A request head past the limit is refused however it arrives, and nothing else is.

Each case runs against ``helpline serve`` on a free port (production's HTTP protocol,
``bot/http_protocol.py``), over a raw socket, as a careless or hostile client would."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.server_options import HEADER_BYTES
from tests.ops.test_startup import environment, serving, wait_ready
from tests.scale.cluster import free_port


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp_path = tmp_path_factory.mktemp("http-head")
    port = free_port()
    log = tmp_path / "serve.log"
    with serving(environment(tmp_path), port, log) as process:
        wait_ready(process, f"http://127.0.0.1:{port}", log)
        yield port
        assert "Traceback" not in log.read_text()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def answers(connection: socket.socket) -> bytes:
    """Everything the server says until it closes or goes quiet for a second."""
    said = b""
    connection.settimeout(1)
    try:
        while chunk := connection.recv(65536):
            said += chunk
    except TimeoutError:
        pass
    except ConnectionResetError:
        said += b"<reset>"
    return said


def head(path: str, pad: int, method: str = "GET", extra: str = "") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: x\r\nX-Pad: {'a' * pad}\r\n{extra}\r\n".encode()


def test_a_head_just_under_the_limit_is_served(port: int) -> None:
    with connect(port) as connection:
        connection.sendall(head("/healthz", HEADER_BYTES - 1024))
        assert answers(connection).startswith(b"HTTP/1.1 200")


def test_a_large_body_sent_with_its_head_is_not_counted_as_head(port: int) -> None:
    body = "x" * (4 * HEADER_BYTES)
    request = head("/healthz", 100, "POST", f"Content-Length: {len(body)}\r\n") + body.encode()
    with connect(port) as connection:
        connection.sendall(request)  # one write: head and body arrive together
        assert answers(connection).startswith(b"HTTP/1.1 405")


def test_a_head_sent_slowly_is_refused_once_it_passes_the_limit(port: int) -> None:
    # A piece at a time, and never finished: the server must not wait for the rest.
    request = head("/healthz", 2 * HEADER_BYTES)[: HEADER_BYTES + 200]
    with connect(port) as connection:
        for start in range(0, len(request), 1024):
            connection.sendall(request[start : start + 1024])
            time.sleep(0.005)
        said = answers(connection)
    assert said.startswith(b"HTTP/1.1 431") or said == b"<reset>", said[:40]


def test_an_oversized_head_behind_a_small_request_is_refused(port: int) -> None:
    # Both requests in one write: the second head is complete in the same read.
    pipelined = head("/healthz", 10) + head("/healthz", 2 * HEADER_BYTES)
    with connect(port) as connection:
        connection.sendall(pipelined)
        said = answers(connection)
    assert b"HTTP/1.1 431" in said or said.endswith(b"<reset>"), said[:40]
    assert said.count(b"HTTP/1.1 200") <= 1


def test_answers_to_requests_sent_together_come_back_whole_and_in_order(port: int) -> None:
    """A response's head waits for its body to leave in one write (``_HeadWithBody``): a
    HEAD answer, which has no body, must still be sent, and nothing may be reordered."""
    script = Path(__file__).resolve().parents[2] / "bot" / "console" / "static" / "console.js"
    together = (
        head("/healthz", 10, "HEAD")
        + head("/no-such-page", 10)
        + head("/console/static/console.js", 10)
        + head("/healthz", 10)
    )
    with connect(port) as connection:
        connection.sendall(together)
        said = answers(connection)
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", said) == [b"405", b"404", b"200", b"200"]
    assert script.read_bytes() in said  # a 36 kB body, whole


def test_a_head_request_alone_is_answered_at_once(port: int) -> None:
    with connect(port) as connection:
        connection.sendall(head("/healthz", 10, "HEAD"))
        connection.settimeout(1)
        assert connection.recv(65536).startswith(b"HTTP/1.1 405")


def test_the_worker_serves_after_every_refusal(port: int) -> None:
    for _ in range(3):
        with connect(port) as connection:
            connection.sendall(head("/healthz", 3 * HEADER_BYTES))
            answers(connection)
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200


def test_the_limit_is_the_one_the_docs_name() -> None:
    text = Path(__file__).resolve().parents[2].joinpath("docs", "deploy.md").read_text()
    assert f"{HEADER_BYTES // 1024} kB" in text
