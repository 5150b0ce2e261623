"""The worker's lean link to Redis (``bot/redis_link.py``) against real redis-servers.

Each test starts its own redis-server (with a password, on TLS, stopped and started
again) or a fake that answers late, and drives the link as the state cache does.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import hiredis
import pytest
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from bot import faults
from bot.redis_link import RedisLink
from tests.certificates import authority, server_certificate
from tests.scale.cluster import RedisServer, running_redis

pytestmark = [pytest.mark.redis, pytest.mark.asyncio(loop_factories=["asyncio", "uvloop"])]

ECHO_KEYS = "local out = {} for i = 1, #KEYS do out[i] = KEYS[i] .. ARGV[1] end return out"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path) as server:
        yield server


@asynccontextmanager
async def linked(url: str, *, reply_seconds: float = 3.0) -> AsyncIterator[RedisLink]:
    link = RedisLink(url, timeout=reply_seconds)
    try:
        yield link
    finally:
        await link.close()


async def test_many_commands_at_once_each_get_their_own_reply(redis_server: RedisServer) -> None:
    async with linked(redis_server.url) as link:
        people = [f"person-{index}" for index in range(300)]
        await asyncio.gather(*(link.call("SET", person, person.upper()) for person in people))
        replies = await asyncio.gather(*(link.call("GET", person) for person in people))
        assert replies == [person.upper().encode() for person in people]


async def test_a_script_redis_has_forgotten_is_sent_again(redis_server: RedisServer) -> None:
    async with linked(redis_server.url) as link:
        echo = link.script(ECHO_KEYS)
        assert await echo(keys=["a", "b"], args=["!"]) == [b"a!", b"b!"]
        await link.call("SCRIPT", "FLUSH")  # as a restarted Redis would have
        assert await echo(keys=["c"], args=["?"]) == [b"c?"]
        with pytest.raises(redis_errors.ResponseError):
            await link.call("INCR", "no such command", "too many arguments")


async def test_a_stopped_redis_fails_as_unreachable_and_the_link_reconnects(
    redis_server: RedisServer,
) -> None:
    async with linked(redis_server.url) as link:
        await link.call("SET", "kept", "1")
        redis_server.stop()
        with pytest.raises(redis_errors.ConnectionError) as lost:
            await link.call("GET", "kept")
        # The webhook that met it is answered 503, so the carrier tries again.
        assert isinstance(lost.value, faults.service_errors())
        assert faults.service_of(lost.value) == "redis"
        redis_server.start()
        assert await link.call("PING") == b"PONG"


async def test_an_unanswered_command_times_out_and_its_late_reply_is_never_anothers() -> None:
    """A Redis that answers the first connection's first command after 0.5 s, others at once."""
    handlers: list[asyncio.Task[None]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        number, parser = len(handlers), hiredis.Reader()
        while data := await reader.read(65536):
            parser.feed(data)
            while (command := parser.gets()) is not False:
                if number == 1:
                    await asyncio.sleep(0.5)
                value = b"answer of connection %d to %s" % (number, command[-1])
                writer.write(b"$%d\r\n%s\r\n" % (len(value), value))
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with linked(f"redis://127.0.0.1:{port}/0", reply_seconds=0.2) as link:
            with pytest.raises(redis_errors.TimeoutError):
                await link.call("GET", "first")
            assert await link.call("GET", "second") == b"answer of connection 2 to second"
            await asyncio.sleep(0.5)  # the first connection's late answer is due now
            assert await link.call("GET", "third") == b"answer of connection 2 to third"
        await asyncio.gather(*handlers)  # each ends when the link has closed its connection
    finally:
        server.close()
        await server.wait_closed()


async def test_the_urls_password_and_database_are_used_and_never_told(tmp_path: Path) -> None:
    password = "pw-" + secrets.token_hex(8)
    with running_redis(tmp_path, options=("--requirepass", password)) as server:
        base = f"127.0.0.1:{server.port}"
        async with linked(f"redis://:{password}@{base}/5") as link:
            await link.call("SET", "where", "database five")
        reader = Redis.from_url(f"redis://:{password}@{base}/5")
        try:
            assert await reader.get("where") == b"database five"
            assert await reader.execute_command("SELECT", 0) and await reader.get("where") is None
        finally:
            await reader.aclose()
        wrong = "wrong-" + secrets.token_hex(8)
        async with linked(f"redis://user:{wrong}@{base}/5") as link:
            with pytest.raises(redis_errors.ConnectionError) as refused:
                await link.call("GET", "where")
        assert wrong not in str(refused.value) and "user" not in str(refused.value)


async def test_a_unix_socket_url_is_followed(tmp_path: Path) -> None:
    socket_path = tmp_path / "redis.sock"
    unix = ("--unixsocket", str(socket_path), "--unixsocketperm", "700")
    with running_redis(tmp_path, options=unix) as server:
        async with linked(f"unix://{socket_path}?db=3") as link:
            await link.call("SET", "over", "the socket")
        reader = Redis.from_url(server.url.rsplit("/", 1)[0] + "/3")
        try:
            assert await reader.get("over") == b"the socket"
        finally:
            await reader.aclose()


async def test_rediss_checks_the_certificate_unless_the_url_says_not_to(tmp_path: Path) -> None:
    """The deploy guide's advice for add-ons with self-signed certificates: ssl_cert_reqs=none."""
    issuer = authority(tmp_path, "redis-ca")
    with running_redis(tmp_path, tls=server_certificate(tmp_path, issuer)) as server:
        url = f"rediss://127.0.0.1:{server.port}/0"
        async with linked(f"{url}?ssl_ca_certs={tmp_path / 'redis-ca.pem'}") as link:
            assert await link.call("PING") == b"PONG"
        async with linked(f"{url}?ssl_cert_reqs=none") as link:
            assert await link.call("PING") == b"PONG"
        async with linked(url) as link:  # an authority the system does not know
            with pytest.raises(redis_errors.ConnectionError, match="SSLCertVerificationError"):
                await link.call("PING")
