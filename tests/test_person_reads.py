"""A person's saved state, read back by another worker, is the state their turns left."""

from __future__ import annotations

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
    try:
        read = await PersonReads(sessions, db).contact(alias)
        async with sessions() as session:
            stored = await session.get(Contact, alias)
        assert read is not None and stored is not None
        assert contact_values(read) == contact_values(stored)
        assert read.country == "RO" and read.last_seen.tzinfo is not None
        assert await PersonReads(sessions, db).contact("nobody-" + alias) is None
    finally:
        await db.dispose()


@pytest.mark.postgres
async def test_a_read_on_a_connection_the_server_dropped_is_an_outage_then_recovers(
    postgres_database: str | None,
) -> None:
    """PostgreSQL is read with the driver's own call (SQLite through the ORM)."""
    services.require("PostgreSQL", postgres_database is not None)
    assert postgres_database is not None
    database_url = postgres_database
    await prepare_database(database_url)
    db = create_engine(database_url)
    reads = PersonReads(read_session_factory(db), db)
    try:
        assert await reads.contact("someone") is None  # a pooled connection now exists
        admin_db = create_engine(database_url)
        async with admin_db.connect() as admin:
            await admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        await admin_db.dispose()
        with pytest.raises(OperationalError) as raised:
            await reads.contact("someone")
        assert isinstance(raised.value, faults.service_errors())  # answered 503, redelivered
        assert "someone" not in str(raised.value)
        assert await reads.contact("someone") is None  # a fresh connection serves again
    finally:
        await db.dispose()
