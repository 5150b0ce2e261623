"""Faults an operator will meet: a database that drops packets, a worker killed with
SIGKILL mid-conversation, the single SQLite process stopped with people waiting.

After each: every queued person is still queued, every live chat still live, and no
webhook was answered 200 without its effect saved.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.i18n import catalogue
from tests import services
from tests.fakes.twilio_api import FakeTwilio, Server, inbound_sid, read_twiml, twilio_settings
from tests.scale.cluster import AdvocateConsole, RedisServer, TcpProxy, Worker, eventually
from tests.scale.conftest import create_advocate
from tests.scale.sms import new_number, option_number, send, sql_value, text

TWILIO_SECONDS = 15.0
"""Twilio gives up on a webhook after 15 seconds: the help line must answer before."""


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    server = Server(fake.app())
    server.start()
    fake.url = server.url
    try:
        yield fake
    finally:
        server.stop()


def twilio_env(fake: FakeTwilio) -> dict[str, str]:
    return {k: str(v) for k, v in twilio_settings(fake).items()}


async def queue_up(client: httpx.AsyncClient, number: str) -> str:
    """Text hello, choose to talk, say yes: the person is in line. Returns the answer."""
    menu = await text(client, number, "hello")
    consent = await text(client, number, option_number(menu, "option.talk"))
    return await text(client, number, option_number(consent, "option.yes_connect"))


@pytest.mark.postgres
async def test_a_database_that_drops_packets_gets_503_inside_twilios_timeout(
    scale_database: str, twilio: FakeTwilio, tmp_path: Path
) -> None:
    url = make_url(scale_database)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    through_proxy = url.set(port=proxy.port).render_as_string(hide_password=False)
    worker = Worker(
        "held", {"HELPLINE_DATABASE_URL": through_proxy, **twilio_env(twilio)}, tmp_path
    )
    try:
        worker.start()
        worker.wait_ready()
        number = new_number()
        async with httpx.AsyncClient(base_url=worker.url, timeout=TWILIO_SECONDS) as client:
            assert await text(client, number, "hello")
            proxy.black_hole = True
            sid = inbound_sid()
            # httpx gives up as Twilio would: the answer must come before that.
            held = await send(client, number, "hello again", sid)
            assert held.status_code == 503
            assert held.headers["Retry-After"]
            proxy.black_hole = False

            async def redelivered() -> bool:
                answer = await send(client, number, "hello again", sid)
                return answer.status_code == 200 and bool(read_twiml(answer.text))

            # Twilio's redelivery of the very same message is answered, not taken as a copy.
            await eventually(redelivered, seconds=30, interval=1.0)
        assert "Traceback" not in worker.log()
    finally:
        worker.stop()
        proxy.close()


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_worker_killed_mid_conversation_loses_nobody(
    scale_database: str, twilio: FakeTwilio, tmp_path: Path
) -> None:
    services.require("redis-server", RedisServer.binary() is not None)
    redis = RedisServer(tmp_path)
    redis.start()
    env = {
        "HELPLINE_DATABASE_URL": scale_database,
        "HELPLINE_REDIS_URL": redis.url,
        **twilio_env(twilio),
    }
    a, b = Worker("a", env, tmp_path), Worker("b", env, tmp_path)
    advocate: AdvocateConsole | None = None
    try:
        for worker in (a, b):
            worker.start()
        for worker in (a, b):
            worker.wait_ready()
        account = await create_advocate(scale_database, "kill-test")
        advocate = await AdvocateConsole.log_in(b, account.name, account.password, account.totp)
        frames = await advocate.connect()
        talking, waiting = new_number(), new_number()
        async with (
            httpx.AsyncClient(base_url=a.url, timeout=30) as on_a,
            httpx.AsyncClient(base_url=b.url, timeout=30) as on_b,
        ):
            await queue_up(on_a, talking)
            live = await advocate.waiting_ticket()
            mark = await advocate.act(type="claim", ticket=live)
            await frames.wait(lambda f: f.get("type") == "opened", after=mark)
            await queue_up(on_a, waiting)
            queued = await advocate.waiting_ticket()

            # Messages in flight on A when it is killed.
            sids = [inbound_sid() for _ in range(12)]
            flights = [
                asyncio.ensure_future(send(on_a, new_number(), "hello", sid)) for sid in sids
            ]
            await asyncio.sleep(0.05)
            a.kill()
            answers = await asyncio.gather(*flights, return_exceptions=True)
            for sid, answer in zip(sids, answers, strict=True):
                if isinstance(answer, httpx.Response) and answer.status_code == 200:
                    saved = await sql_value(
                        scale_database,
                        "SELECT count(*) FROM seen_message WHERE key = $1",
                        f"sms:{sid}",
                    )
                    assert saved == 1, "answered 200 without its turn saved"

            statuses = {
                ticket: await sql_value(
                    scale_database, "SELECT status FROM ticket WHERE public_alias = $1", ticket
                )
                for ticket in (live, queued)
            }
            assert statuses == {live: "active", queued: "waiting"}
            # The waiting person, writing again through B, is still in line.
            assert told_in_line(await text(on_b, waiting, "are you there"))
            # The live chat goes on through B both ways.
            mark = await advocate.act(type="send", ticket=live, text="still here", ref="k1")
            sent = await frames.wait(lambda f: f.get("type") == "sent", after=mark)
            assert sent["ok"] is True
            assert "still here" in twilio.bodies_to(talking)
            await text_relayed(on_b, talking, frames)
        a.start()
        a.wait_ready()
        assert "Traceback" not in b.log()
    finally:
        if advocate is not None:
            await advocate.close()
        for worker in (a, b):
            worker.stop()
        redis.stop()


async def text_relayed(client: httpx.AsyncClient, number: str, frames: object) -> None:
    """What the person writes in a live chat reaches the advocate's console."""
    response = await send(client, number, "words for you", inbound_sid())
    assert response.status_code == 200
    wait = getattr(frames, "wait")  # noqa: B009 - Frames from tests.scale.cluster
    await wait(lambda f: f.get("type") == "message" and "words for you" in f.get("text", ""))


def told_in_line(answer: str) -> bool:
    """The answer tells the person they are still in line (either way the bot says it)."""
    words = catalogue("en")
    place = words.text("talk.queued").split("{")[0]
    said = (words.text("talk.still_waiting"), words.text("talk.waiting_not_passed"), place)
    return any(text in answer for text in said)


def waiting_tickets(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        row = connection.execute("SELECT count(*) FROM ticket WHERE status = 'waiting'").fetchone()
    return int(row[0])


def seen(database: Path, sid: str) -> bool:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        row = connection.execute(
            "SELECT count(*) FROM seen_message WHERE key = ?", (f"sms:{sid}",)
        ).fetchone()
    return int(row[0]) == 1


async def test_sigterm_of_the_single_sqlite_process_keeps_everyone_in_line(
    twilio: FakeTwilio, tmp_path: Path
) -> None:
    database = tmp_path / "helpline.db"
    env = {"HELPLINE_DATABASE_URL": f"sqlite+aiosqlite:///{database}", **twilio_env(twilio)}
    worker = Worker("single", env, tmp_path)
    people = [new_number() for _ in range(3)]
    try:
        worker.start()
        worker.wait_ready()
        async with httpx.AsyncClient(base_url=worker.url, timeout=30) as client:
            for number in people:
                await queue_up(client, number)
        code = worker.stop()
        assert code in (0, -signal.SIGTERM), code
        assert waiting_tickets(database) == 3
        worker.start()
        worker.wait_ready()
        async with httpx.AsyncClient(base_url=worker.url, timeout=30) as client:
            for number in people:
                assert told_in_line(await text(client, number, "hello?"))
        assert waiting_tickets(database) == 3
        log = worker.log()
        assert "Application shutdown complete" in log
        assert "Traceback" not in log
    finally:
        worker.stop()


async def test_sigkill_of_the_single_sqlite_process_keeps_everyone_in_line(
    twilio: FakeTwilio, tmp_path: Path
) -> None:
    database = tmp_path / "helpline.db"
    env = {"HELPLINE_DATABASE_URL": f"sqlite+aiosqlite:///{database}", **twilio_env(twilio)}
    worker = Worker("killed", env, tmp_path)
    people = [new_number() for _ in range(3)]
    try:
        worker.start()
        worker.wait_ready()
        async with httpx.AsyncClient(base_url=worker.url, timeout=30) as client:
            for number in people:
                await queue_up(client, number)
            sids = [inbound_sid() for _ in range(12)]
            flights = [
                asyncio.ensure_future(send(client, new_number(), "hello", sid)) for sid in sids
            ]
            await asyncio.sleep(0.05)
            worker.kill()
            answers = await asyncio.gather(*flights, return_exceptions=True)
        for sid, answer in zip(sids, answers, strict=True):
            if isinstance(answer, httpx.Response) and answer.status_code == 200:
                assert seen(database, sid), "answered 200 without its turn saved"
        assert waiting_tickets(database) == 3
        worker.start()
        worker.wait_ready()
        async with httpx.AsyncClient(base_url=worker.url, timeout=30) as client:
            for number in people:
                assert told_in_line(await text(client, number, "hello?"))
        assert waiting_tickets(database) == 3
    finally:
        worker.stop()
