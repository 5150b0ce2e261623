"""Redis and PostgreSQL go away in the middle of a conversation, and come back.

The workers reach PostgreSQL through a TCP proxy the test can cut (the shared server
is never stopped) and use a private redis-server the test stops and starts again.
"""

from __future__ import annotations

import secrets
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests import services
from tests.conftest import METRICS_HEADERS
from tests.fakes.twilio_api import FakeTwilio, Server, inbound_sid, post_signed, twilio_settings
from tests.scale.cluster import (
    AdvocateConsole,
    Phone,
    RedisServer,
    TcpProxy,
    Worker,
    eventually,
)
from tests.scale.conftest import create_advocate

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@dataclass
class Cluster:
    a: Worker
    b: Worker
    redis: RedisServer
    proxy: TcpProxy
    twilio: FakeTwilio
    database_url: str

    @property
    def workers(self) -> tuple[Worker, Worker]:
        return self.a, self.b


@pytest.fixture(scope="module")
def cluster(scale_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    services.require("redis-server", RedisServer.binary() is not None)
    work = tmp_path_factory.mktemp("faults")
    url = make_url(scale_database)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    redis = RedisServer(work)
    twilio = FakeTwilio()
    twilio_server = Server(twilio.app())
    workers: list[Worker] = []
    try:
        proxy.start()
        redis.start()
        twilio_server.start()
        twilio.url = twilio_server.url
        through_proxy = url.set(port=proxy.port).render_as_string(hide_password=False)
        env = {
            "HELPLINE_DATABASE_URL": through_proxy,
            "HELPLINE_REDIS_URL": redis.url,
            **{k: str(v) for k, v in twilio_settings(twilio).items()},
        }
        workers = [Worker("a", env, work), Worker("b", env, work)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready()
        yield Cluster(workers[0], workers[1], redis, proxy, twilio, scale_database)
    finally:
        for worker in workers:
            worker.stop()
        twilio_server.stop()
        redis.stop()
        proxy.close()


async def _ready(worker: Worker, **expected: bool) -> bool:
    async with httpx.AsyncClient() as client:
        body = (await client.get(worker.url + "/readyz")).json()
    return all(body.get(key) is value for key, value in expected.items())


async def _conversation(cluster: Cluster, name: str) -> tuple[AdvocateConsole, Phone, str]:
    """An advocate on B talking with a person on A (ticket returned)."""
    account = await create_advocate(cluster.database_url, name)
    advocate = await AdvocateConsole.log_in(cluster.b, name, account.password, account.totp)
    frames = await advocate.connect()
    person = await Phone.open(cluster.a)
    await person.join_queue()
    ticket = await advocate.waiting_ticket()
    mark = await advocate.act(type="claim", ticket=ticket)
    await frames.wait(lambda f: f.get("type") == "opened", after=mark)
    await person.pushed("talking with a trained person")
    return advocate, person, ticket


async def _exchange(advocate: AdvocateConsole, person: Phone, ticket: str) -> None:
    """One message each way; both arrive."""
    assert advocate.frames is not None
    words = f"canary-{secrets.token_hex(5)}"
    await person.say(f"are you there {words}")
    await advocate.frames.wait(lambda f: f.get("type") == "message" and words in f["text"])
    mark = await advocate.act(type="send", ticket=ticket, text=f"yes {words}", ref=words)
    sent = await advocate.frames.wait(lambda f: f.get("type") == "sent", after=mark)
    assert sent["ok"] is True
    await person.pushed(f"yes {words}")


async def test_redis_restart_mid_conversation_loses_nobody(cluster: Cluster) -> None:
    advocate, person, ticket = await _conversation(cluster, "erin")
    waiting = await Phone.open(cluster.a)
    try:
        await waiting.join_queue()
        queued = await advocate.waiting_ticket()
        await _exchange(advocate, person, ticket)

        cluster.redis.stop()
        for worker in cluster.workers:
            await eventually(partial(_ready, worker, relay=False))
        assert advocate.frames is not None
        # The console says the live link is down and that it is reconnecting.
        await advocate.frames.wait(lambda f: f.get("type") == "relay" and not f["connected"])
        # The advocate's reply cannot reach the person's worker: the console is told so.
        mark = await advocate.act(type="send", ticket=ticket, text="can you hear me", ref="r1")
        sent = await advocate.frames.wait(lambda f: f.get("type") == "sent", after=mark)
        assert sent["ok"] is False

        cluster.redis.start()
        for worker in cluster.workers:
            await eventually(partial(_ready, worker, relay=True, database=True))
        await advocate.frames.wait(
            lambda f: f.get("type") == "relay" and f["connected"] is True, after=mark
        )
        # The console's subscriptions came back by themselves: the chat carries on.
        await _exchange(advocate, person, ticket)
        # The person who was waiting is still in line.
        assert advocate.frames is not None
        await advocate.frames.wait(
            lambda f: (
                f.get("type") == "queue"
                and any(t["alias"] == queued and t["status"] == "waiting" for t in f["tickets"])
            ),
            after=mark,
        )
    finally:
        await waiting.frames.close()
        await person.frames.close()
        await advocate.close()


async def test_postgres_cut_mid_conversation_loses_nobody(cluster: Cluster) -> None:
    advocate, person, ticket = await _conversation(cluster, "finn")
    waiting = await Phone.open(cluster.a)
    try:
        await waiting.join_queue()
        queued = await advocate.waiting_ticket()

        cluster.proxy.cut()
        async with httpx.AsyncClient() as client:
            ready = await client.get(cluster.b.url + "/readyz")
            assert ready.status_code == 503 and ready.json()["database"] is False
            login = await client.post(
                cluster.b.url + "/console/login",
                data={"name": "x", "password": "y" * 12, "code": "000000", "csrf": "c"},
                headers={"Cookie": "helpline_login_csrf=c"},
            )
            assert login.status_code == 503
            assert int(login.headers["Retry-After"]) > 0
            scraped = (await client.get(cluster.a.url + "/metrics", headers=METRICS_HEADERS)).text
            assert "helpline_database_up 0.0" in scraped
            scraped = (await client.get(cluster.b.url + "/metrics", headers=METRICS_HEADERS)).text
            assert 'helpline_unavailable_responses_total{service="database"}' in scraped

        cluster.proxy.restore()
        for worker in cluster.workers:
            await eventually(partial(_ready, worker, database=True, relay=True))
        if advocate.frames is None or advocate.frames.closed.is_set():
            await advocate.connect()  # a console that was dropped reconnects
        await _exchange(advocate, person, ticket)

        # Nobody who was waiting was lost: the queued person is still there to claim.
        assert advocate.frames is not None
        mark = await advocate.act(type="close", ticket=ticket, outcomes=["hotline_given"])
        await person.pushed("chat has ended")
        await advocate.frames.wait(lambda f: f.get("type") == "ended", after=mark)
        mark = await advocate.act(type="claim", ticket=queued)
        await advocate.frames.wait(lambda f: f.get("type") == "opened", after=mark)
        await waiting.pushed("talking with a trained person")
    finally:
        await waiting.frames.close()
        await person.frames.close()
        await advocate.close()


async def test_sms_webhook_answers_503_while_postgres_is_down_then_recovers(
    cluster: Cluster,
) -> None:
    number = "+1202555" + f"{secrets.randbelow(10_000):04d}"
    sid = inbound_sid()
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": str(twilio_settings(cluster.twilio)["TWILIO_ACCOUNT_SID"]),
        "From": number,
        "To": "+15005550006",
        "Body": "hello",
        "NumMedia": "0",
    }
    async with httpx.AsyncClient(base_url=cluster.a.url) as client:
        cluster.proxy.cut()
        try:
            down = await post_signed(client, "/webhooks/twilio/sms", params)
        finally:
            cluster.proxy.restore()
        assert down.status_code == 503
        assert int(down.headers["Retry-After"]) > 0
        await eventually(lambda: _ready(cluster.a, database=True))
        # Twilio's redelivery of the same message is answered as if it were the first.
        again = await post_signed(client, "/webhooks/twilio/sms", params)
        assert again.status_code == 200
        assert "<Message " in again.text


async def test_a_worker_stops_gracefully_while_the_other_serves(cluster: Cluster) -> None:
    code = cluster.b.stop()
    # uvicorn finishes the shutdown, then re-raises SIGTERM so its exit says why it stopped.
    assert code in (0, -signal.SIGTERM), code
    log = cluster.b.log()
    assert "Application shutdown complete" in log
    assert "Traceback" not in log
    assert await _ready(cluster.a, database=True, relay=True)
