"""A person's saved state, read back by another worker, is the state their turns left."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot import faults
from bot.db import create_engine, read_session_factory
from bot.helpline import build_helpline
from bot.models import Contact, contact_values
from bot.person_reads import PersonReads
from tests import services
from tests.conftest import FrozenClock, make_settings, prepare_database
from tests.dialogue import Person


async def test_a_person_read_back_is_the_state_their_turns_left(
    database_url: str, clock: FrozenClock
) -> None:
    await prepare_database(database_url)
    line = build_helpline(make_settings(database_url), clock=clock)
    await line.start()
    person = Person(line, country="RO", user_id="read-back")
    await person.send("mi-e frică")
    await person.send("1")
    alias, _ = await line.engine.identify(person.channel, person.user_id)
    await line.stop()

    db = create_engine(database_url)
    sessions = read_session_factory(db)
    reads = PersonReads(sessions, db)
    try:
        read = await reads.contact(alias)
        async with sessions() as session:
            stored = await session.get(Contact, alias)
        assert read is not None and stored is not None
        assert contact_values(read) == contact_values(stored)
        assert read.country == "RO" and read.last_seen.tzinfo is not None
        assert await reads.contact("nobody-" + alias) is None
    finally:
        await reads.close()
        await db.dispose()


@pytest.mark.postgres
async def test_a_read_on_a_connection_the_server_dropped_is_made_again_on_a_fresh_one(
    postgres_database: str | None,
) -> None:
    """PostgreSQL is read with the driver's own call (SQLite through the ORM), on a
    connection each worker keeps: one the server dropped must not fail a person's turn."""
    services.require("PostgreSQL", postgres_database is not None)
    assert postgres_database is not None
    database_url = postgres_database
    await prepare_database(database_url)
    db = create_engine(database_url)
    reads = PersonReads(read_session_factory(db), db)
    try:
        assert await reads.contact("someone") is None  # the connection is now held
        admin_db = create_engine(database_url)
        async with admin_db.connect() as admin:
            dropped = await admin.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            assert dropped.scalar_one() >= 1
        await admin_db.dispose()
        assert await reads.contact("someone") is None  # answered, not a 503
    finally:
        await reads.close()
        await db.dispose()


@pytest.mark.postgres
async def test_a_read_while_the_database_is_unreachable_is_an_outage_naming_nobody() -> None:
    """Nothing listens on the port: the webhook is answered 503 and delivered again."""
    port = free_port()
    db = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test")
    reads = PersonReads(read_session_factory(db), db)
    try:
        with pytest.raises(OperationalError) as raised:
            await reads.contact("someone-alias")
        assert isinstance(raised.value, faults.service_errors())
        assert "someone-alias" not in str(raised.value)
    finally:
        await reads.close()
        await db.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
