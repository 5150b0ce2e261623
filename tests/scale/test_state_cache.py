"""Person state cached in two workers sharing PostgreSQL and Redis is never stale.

Two help lines in one process, each with its own engine, cache and Redis relay, as two
uvicorn workers would have: a person's messages alternate between them.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from bot import coherence
from bot.channels.sms_webhook import country_of
from bot.coherence import Versions
from bot.dedup import DeliveryClaims
from bot.helpline import Helpline, build_helpline
from bot.hotlines import directory
from bot.i18n import catalogue
from bot.render import numbered
from bot.types import Channel
from tests.conftest import contact_reads, make_settings
from tests.dialogue import Person
from tests.scale.cluster import RedisServer, running_redis

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

HOTLINE = "1-888-373-7888"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server that keeps its keys across a restart, as a persistent one would."""
    with running_redis(tmp_path, persist=True) as server:
        yield server


@asynccontextmanager
async def two_workers(
    database_url: str, redis_url: str
) -> AsyncIterator[tuple[Helpline, Helpline]]:
    settings = make_settings(database_url, HELPLINE_REDIS_URL=redis_url)
    a, b = build_helpline(settings), build_helpline(settings)
    await a.start()
    await b.start()
    try:
        yield a, b
    finally:
        await a.stop()
        await b.stop()


@pytest.fixture
async def workers(
    scale_database: str, redis_server: RedisServer
) -> AsyncIterator[tuple[Helpline, Helpline]]:
    async with two_workers(scale_database, redis_server.url) as pair:
        yield pair


def phones(a: Helpline, b: Helpline) -> tuple[Person, Person]:
    """One person (one number) as seen by worker A and by worker B."""
    number = f"+1555{secrets.randbelow(10**7):07d}"
    return (
        Person(a, channel=Channel.SMS, user_id=number, country="US"),
        Person(b, channel=Channel.SMS, user_id=number, country="US"),
    )


async def simulator(line: Helpline, user: str, text: str) -> list[str]:
    """A message without a provider id (the web simulator): no delivery claim in Redis."""
    turn = await line.engine.receive(Channel.SIMULATOR, user, text, country_hint="US")
    return [numbered(reply) for reply in turn.replies]


async def test_a_walk_alternating_between_two_workers_follows_every_step(
    workers: tuple[Helpline, Helpline],
) -> None:
    on_a, on_b = phones(*workers)
    assert "1 Hotline numbers" in (await on_a.send("hello"))[1]
    assert "Choose your language" in (await on_b.send("language"))[-1]
    # A held this person in the main menu; B moved them to the language menu.
    assert "español" in (await on_a.send("2"))[0].casefold()
    hotlines = await on_b.send("1")  # the Spanish main menu's first option
    assert HOTLINE in hotlines[0] and hotlines[0].startswith("Líneas de ayuda")
    assert "Talk to a person" not in (await on_a.send("zzzz"))[-1]  # still Spanish on A


async def test_a_state_change_on_one_worker_is_seen_by_the_next_message_on_the_other(
    workers: tuple[Helpline, Helpline],
) -> None:
    on_a, on_b = phones(*workers)
    await on_a.send("hello")
    assert "1 Hotline numbers" in (await on_b.send("asdfghjkl"))[-1]  # B now holds them
    assert "Plain mode is on" in (await on_a.send("6"))[0]
    menu = (await on_b.send("asdfghjkl"))[-1]
    assert "Useful numbers" in menu and "Hotline" not in menu


async def test_a_person_writing_again_to_the_same_worker_costs_no_database_read(
    workers: tuple[Helpline, Helpline],
) -> None:
    a, b = workers
    on_a, on_b = phones(a, b)
    reads_a = contact_reads(a)
    await on_a.send("hello")
    first = len(reads_a)
    await on_a.send("asdfghjkl")
    assert HOTLINE in (await on_a.send("1"))[0]
    assert len(reads_a) == first  # both answered from A's memory
    await on_b.send("asdfghjkl")
    await on_a.send("asdfghjkl")
    assert len(reads_a) == first + 1  # B wrote in between: A asked the database


async def test_stop_on_one_worker_is_honoured_on_the_other_at_once(
    workers: tuple[Helpline, Helpline],
) -> None:
    a, b = workers
    on_a, on_b = phones(a, b)
    await on_a.send("hello")
    assert await on_b.send("asdfghjkl")  # B holds this person, not opted out
    await a.engine.set_opt_out(await on_a.alias(), True)  # what the SMS channel does on STOP
    assert await on_b.send("hello") == []
    assert await on_a.send("hello") == []


async def test_with_redis_down_answers_come_from_the_database(
    workers: tuple[Helpline, Helpline], redis_server: RedisServer
) -> None:
    a, b = workers
    spanish = catalogue("es")
    user = secrets.token_hex(8)
    await simulator(a, user, "hello")
    await simulator(b, user, "asdfghjkl")  # both workers now hold this person
    await simulator(a, user, "language")
    redis_server.stop()
    # B's memory says "main menu"; the database says "language menu".
    assert "español" in (await simulator(b, user, "2"))[0].casefold()
    assert spanish.raw("discreet.on") in (await simulator(a, user, "6"))[0]
    redis_server.start()  # with every key it had: none of them knows about these writes
    for worker in (b, a):
        menu = (await simulator(worker, user, "zzzz"))[-1]
        assert spanish.raw("option.hotlines.discreet") in menu
        assert spanish.raw("option.hotlines") not in menu


async def test_after_an_outage_no_worker_trusts_what_it_held_before(
    workers: tuple[Helpline, Helpline], redis_server: RedisServer
) -> None:
    a, b = workers
    user = secrets.token_hex(8)
    await simulator(a, user, "hello")
    await simulator(b, user, "asdfghjkl")  # B holds "main menu, English, not plain"
    redis_server.stop()
    assert "Plain mode is on" in (await simulator(a, user, "6"))[0]  # Redis never hears of it
    redis_server.start()  # B's version of this person is back in Redis, unchanged
    menu = (await simulator(b, user, "asdfghjkl"))[-1]
    assert "Useful numbers" in menu and "Hotline" not in menu


async def test_two_saves_of_one_person_at_once_are_never_cached_until_both_are_done(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coherence, "WRITE_SECONDS", 1)
    claims = DeliveryClaims(redis_server.url, namespace="overlap")
    versions = Versions(claims, namespace="overlap", keep_for_seconds=3600, seen_seconds=60)
    try:
        # Two messages from one person are being saved on two workers at once.
        first = await versions.before_write(["alias-1"])
        second = await versions.before_write(["alias-1"])
        assert await versions.after_write(second) == {}  # the first may still commit later
        assert await versions.after_write(first) == {}
        assert (await versions.look("alias-1", None)).token is None  # nobody may cache
        await asyncio.sleep(0.6)
        third = await versions.before_write(["alias-1"])  # within the first one's window
        assert await versions.after_write(third) == {}
        await asyncio.sleep(0.6)  # past the first write's window, not past the third's
        fourth = await versions.before_write(["alias-1"])
        token = (await versions.after_write(fourth))["alias-1"]
        assert (await versions.look("alias-1", None)).token == token
    finally:
        await claims.close()


async def test_a_worker_stops_while_redis_is_away_and_its_relay_is_reconnecting(
    scale_database: str, redis_server: RedisServer
) -> None:
    settings = make_settings(scale_database, HELPLINE_REDIS_URL=redis_server.url)
    line = build_helpline(settings)
    await line.start()
    user = secrets.token_hex(8)
    await simulator(line, user, "hello")
    await simulator(line, user, "language")
    redis_server.stop()
    await asyncio.sleep(0.5)  # the relay has lost Redis and is trying again
    stopping = asyncio.create_task(line.stop())
    # A bound only so that a hang fails this test instead of the whole run.
    done, _ = await asyncio.wait({stopping}, timeout=60)
    assert done, "the worker's stop hung while Redis was away"
    stopping.result()
    # Nothing the person did before the stop is lost: the next worker finds them in the
    # language menu, where "2" chooses Spanish.
    redis_server.start()
    async with two_workers(scale_database, redis_server.url) as (after, _):
        assert "español" in (await simulator(after, user, "2"))[0].casefold()


async def test_people_writing_at_once_share_round_trips_and_each_hears_their_own_country(
    workers: tuple[Helpline, Helpline],
) -> None:
    """Under a burst, turns share Redis looks, database reads and commits (``bot/batches.py``):
    nobody may get a neighbour's state or a neighbour's country's number."""
    a, b = workers
    regions = ["RO", "VN", "SA", "BR", "KE", "NG", "IN", "PH", "MX", "UA", "TH", "US"]
    people = {region: phones_in(a, b, region) for region in regions}
    await asyncio.gather(*(on_a.send("hi") for on_a, _ in people.values()))
    reads_b = contact_reads(b)
    danger = catalogue("en").raw("danger.reply")
    # B has met none of them: their states come from the database, each delivered twice
    # at once (a carrier's redelivery), and exactly one copy of each is answered.
    ids = {region: "SM" + secrets.token_hex(16) for region in regions}
    answers = await asyncio.gather(
        *(
            on_b.send("help me now", message_id=ids[region])
            for region, (_, on_b) in people.items()
            for _copy in range(2)
        )
    )
    for index, region in enumerate(regions):
        first, second = answers[2 * index], answers[2 * index + 1]
        assert (first == []) != (second == []), region  # one copy answered, one ignored
        expected = directory().country(region).urgent_number()
        assert expected is not None, region
        assert (first or second)[0] == danger.format(emergency=expected.dial), region
    assert 0 < len(reads_b) < len(regions)  # fewer round trips than people


def phones_in(a: Helpline, b: Helpline, region: str) -> tuple[Person, Person]:
    """One person with a mobile number of ``region``, as seen by worker A and by worker B."""
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    assert example is not None, region
    number = phonenumbers.format_number(example, PhoneNumberFormat.E164)
    country = country_of(number)
    return (
        Person(a, channel=Channel.SMS, user_id=number, country=country),
        Person(b, channel=Channel.SMS, user_id=number, country=country),
    )
