"""Two real workers sharing PostgreSQL and Redis: a person on one, the advocate on the other."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator

import httpx
import pytest

from tests import services
from tests.conftest import METRICS_HEADERS
from tests.scale.cluster import AdvocateConsole, Phone, Worker
from tests.scale.conftest import create_advocate

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(scope="module")
def workers(
    scale_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Worker, Worker]]:
    services.require("Redis", services.redis_available())
    logs = tmp_path_factory.mktemp("workers")
    env = {"HELPLINE_DATABASE_URL": scale_database, "HELPLINE_REDIS_URL": services.REDIS_URL}
    a, b = Worker("a", env, logs), Worker("b", env, logs)
    try:
        a.start()
        b.start()
        a.wait_ready()
        b.wait_ready()
        yield a, b
    finally:
        a.stop()
        b.stop()


async def test_person_on_one_worker_chats_with_advocate_on_the_other(
    workers: tuple[Worker, Worker], scale_database: str
) -> None:
    a, b = workers
    account = await create_advocate(scale_database, "ana")
    advocate = await AdvocateConsole.log_in(b, account.name, account.password, account.totp)
    frames = await advocate.connect()
    person = await Phone.open(a)
    try:
        await person.join_queue()
        ticket = await advocate.waiting_ticket()

        mark = await advocate.act(type="claim", ticket=ticket)
        await frames.wait(lambda f: f.get("type") == "opened", after=mark)
        await person.pushed("talking with a trained person")

        canary = f"person-canary-{secrets.token_hex(6)}"
        await person.say(f"I need somewhere safe tonight {canary}")
        said = await frames.wait(lambda f: f.get("type") == "message" and canary in f["text"])
        assert advocate.alias(said["ticket"]) == ticket

        reply = f"advocate-canary-{secrets.token_hex(6)}"
        mark = await advocate.act(type="send", ticket=ticket, text=f"I am here. {reply}", ref=1)
        sent = await frames.wait(lambda f: f.get("type") == "sent", after=mark)
        assert sent["ok"] is True
        assert reply in await person.pushed(reply)

        await advocate.act(type="close", ticket=ticket, outcomes=["safety_planning"])
        await person.pushed("chat has ended")
    finally:
        await person.frames.close()
        await advocate.close()
    for worker in workers:
        assert canary not in worker.log() and reply not in worker.log()


async def test_claim_race_across_workers_has_exactly_one_winner(
    workers: tuple[Worker, Worker], scale_database: str
) -> None:
    a, b = workers
    ben = await create_advocate(scale_database, "ben")
    cleo = await create_advocate(scale_database, "cleo")
    on_a = await AdvocateConsole.log_in(a, ben.name, ben.password, ben.totp)
    on_b = await AdvocateConsole.log_in(b, cleo.name, cleo.password, cleo.totp)
    await on_a.connect()
    await on_b.connect()
    person = await Phone.open(b)
    try:
        await person.join_queue()
        # Each page has its own opaque reference to the same person.
        tickets = (await on_a.waiting_ticket(), await on_b.waiting_ticket())
        marks = await asyncio.gather(
            on_a.act(type="claim", ticket=tickets[0]), on_b.act(type="claim", ticket=tickets[1])
        )
        outcomes = []
        for console, ticket, mark in zip((on_a, on_b), tickets, marks, strict=True):
            assert console.frames is not None
            frame = await console.frames.wait(
                lambda f, c=console, t=ticket: (
                    f.get("type") in ("opened", "error") and _about(c, f, t)
                ),
                after=mark,
            )
            outcomes.append(frame["type"])
        assert sorted(outcomes) == ["error", "opened"]
        # The person hears "connected" once, from whichever worker won.
        await person.pushed("talking with a trained person")
        await asyncio.sleep(0.5)
        connected = [
            f
            for f in person.frames.seen
            if f.get("pushed") and "talking with a trained person" in str(f["replies"])
        ]
        assert len(connected) == 1
    finally:
        await person.frames.close()
        await on_a.close()
        await on_b.close()


async def test_metrics_count_by_route_template_and_read_the_shared_queue(
    workers: tuple[Worker, Worker],
) -> None:
    a, b = workers
    person = await Phone.open(a)
    try:
        await person.join_queue()
    finally:
        await person.frames.close()
    async with httpx.AsyncClient() as client:
        await client.get(f"{b.url}/console/static/no-such-file-{secrets.token_hex(4)}")
        text = (await client.get(f"{b.url}/metrics", headers=METRICS_HEADERS)).text
    # The queue is read from the database both workers share: B sees A's person waiting.
    waiting = _sample(text, 'helpline_queue_waiting{urgent="false"}')
    assert waiting is not None and waiting >= 1
    assert _sample(text, "helpline_database_up") == 1
    assert _sample(text, "helpline_relay_up") == 1
    assert 'route="/console/static/{name}"' in text
    assert "no-such-file" not in text


def _about(console: AdvocateConsole, frame: dict[str, object], ticket: str) -> bool:
    """Whether ``frame`` is about the ticket with this public alias (refs are per socket)."""
    if frame.get("type") == "opened":
        opened = frame.get("ticket")
        return isinstance(opened, dict) and opened.get("alias") == ticket
    return console.alias(frame.get("ticket")) == ticket


def _sample(exposition: str, name: str) -> float | None:
    for line in exposition.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None
