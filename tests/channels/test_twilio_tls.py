"""Twilio over TLS, against a local HTTPS server with a certificate authority of the test's.

The certificate of each server here is issued by a CA made for the test; the help line
trusts it through ``SSL_CERT_FILE``, as it trusts a system CA in production.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.channels.twilio_api import TransportFailed
from bot.channels.twilio_rest import MessagesApi
from tests.certificates import Authority, authority, server_certificate

ACCOUNT = "AC" + "0" * 32
# On both event loops: the workers run on uvloop, which has a TLS transport of its own.
pytestmark = pytest.mark.asyncio(loop_factories=["asyncio", "uvloop"])


def _server_context(folder: Path, issuer: Authority) -> ssl.SSLContext:
    """A TLS server context for 127.0.0.1, its certificate issued by ``issuer``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*server_certificate(folder, issuer))
    return context


@asynccontextmanager
async def _twilio_over_tls(context: ssl.SSLContext) -> AsyncIterator[tuple[str, list[str]]]:
    """A server that answers every request as Twilio answers a deletion: 204.

    Yields its base URL and the request lines it received, one per request."""
    received: list[str] = []
    handlers: set[asyncio.Task[object]] = set()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                received.append(head.split(b"\r\n", 1)[0].decode())
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}", received
    finally:
        server.close()
        if handlers:  # each ends when its client hangs up
            await asyncio.wait(handlers, timeout=5)


@pytest.fixture
def contexts_made(monkeypatch: pytest.MonkeyPatch) -> list[ssl.SSLContext]:
    """Every TLS client context made from here on (each is made as before)."""
    made: list[ssl.SSLContext] = []
    original: Callable[..., ssl.SSLContext] = ssl.create_default_context

    def counted(purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH, **kwargs: object) -> ssl.SSLContext:
        context = original(purpose, **kwargs)
        if purpose == ssl.Purpose.SERVER_AUTH:  # a client's: it authenticates servers
            made.append(context)
        return context

    monkeypatch.setattr(ssl, "create_default_context", counted)
    return made


async def test_a_burst_of_deletions_opens_many_connections_with_one_tls_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, contexts_made: list[ssl.SSLContext]
) -> None:
    """Each new connection used to load every CA certificate again, on the event loop."""
    issuer = authority(tmp_path, "test-ca")
    server = _server_context(tmp_path, issuer)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "test-ca.pem"))
    async with _twilio_over_tls(server) as (url, received):
        api = MessagesApi(ACCOUNT, "token", url)
        try:
            sids = [f"SM{index:032x}" for index in range(40)]  # more than the 20 kept alive
            await asyncio.gather(*(api.delete(sid) for sid in sids))
            await asyncio.gather(*(api.delete(sid) for sid in sids))
        finally:
            await api.close()
    expected = {
        f"DELETE /2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json HTTP/1.1" for sid in sids
    }
    assert set(received) == expected and len(received) == 80
    assert len(contexts_made) == 1


async def test_twilio_is_still_verified_a_server_of_an_unknown_authority_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority(tmp_path, "test-ca")  # trusted, but not the server's
    stranger = authority(tmp_path, "other-ca")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "test-ca.pem"))
    async with _twilio_over_tls(_server_context(tmp_path, stranger)) as (url, received):
        api = MessagesApi(ACCOUNT, "token", url)
        try:
            with pytest.raises(TransportFailed):
                await api.delete("SM" + "1" * 32)
        finally:
            await api.close()
    assert received == []
