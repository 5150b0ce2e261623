"""Person state kept in memory between turns must never outlive or contradict the database."""

import contextlib
import sqlite3
from collections.abc import AsyncIterator

import pytest

from bot.channels.sms_sender import opted_out
from bot.helpline import Helpline, build_helpline
from bot.i18n import catalogue
from bot.retention import purge
from tests.conftest import FrozenClock, make_settings
from tests.dialogue import Person


async def test_a_redelivery_after_a_restart_is_still_answered_once(
    database_url: str, clock: FrozenClock
) -> None:
    from tests.conftest import prepare_database

    await prepare_database(database_url)
    first = build_helpline(make_settings(database_url), clock=clock)
    await first.start()
    person = Person(first, country="US", user_id="restart-person")
    assert await person.send("hello", message_id="SM-restart")
    await first.stop()

    second = build_helpline(make_settings(database_url), clock=clock)
    await second.start()
    try:
        again = Person(second, country="US", user_id="restart-person")
        assert await again.send("hello", message_id="SM-restart") == []
    finally:
        await second.stop()


async def test_state_forgotten_by_the_purge_is_not_remembered_from_memory(
    database_url: str, clock: FrozenClock
) -> None:
    from tests.conftest import prepare_database

    await prepare_database(database_url)
    # Keys that outlive the window, so the same alias comes back: only the window forgets.
    settings = make_settings(database_url, HELPLINE_ALIAS_KEY_ROTATION_HOURS=10_000)
    line = build_helpline(settings, clock=clock)
    await line.start()
    try:
        person = Person(line, user_id="purged-person")
        replies = await person.send("hola")
        assert catalogue("es").raw("option.hotlines") in replies[1]
        clock.advance(hours=line.settings.retention_person_hours, minutes=5)
        await purge(line)
        replies = await person.send("ok")
        # Nothing of the Spanish conversation survives: English, with the language menu.
        assert catalogue("en").raw("language.prompt") in replies[-1]
    finally:
        await line.stop()


async def test_a_chat_closed_by_an_advocate_is_seen_on_the_next_message(
    database_url: str, clock: FrozenClock
) -> None:
    from bot.accounts import TOTP_PURPOSE, add_advocate
    from tests.conftest import prepare_database

    await prepare_database(database_url)
    line = build_helpline(make_settings(database_url), clock=clock)
    await line.start()
    try:
        advocate, _ = await add_advocate(
            line.sessions, line.sealer(TOTP_PURPOSE), name="ana", password="a-long-password-1"
        )
        assert advocate.id is not None
        person = Person(line, country="US")
        await person.send("hello")
        await person.send(choice="talk")
        await person.send(choice="talk:yes")
        entries = await line.queue.entries()
        await line.queue.claim(ticket_id=entries[0].id, advocate_id=advocate.id)
        await line.queue.close(
            ticket_id=entries[0].id, advocate_id=advocate.id, outcomes=["hotline_given"]
        )
        replies = await person.send("1")  # the main menu again: hotline numbers
        assert "1-888-373-7888" in replies[0]
    finally:
        await line.stop()


async def test_memory_lets_go_of_people_past_the_retention_window(
    helpline: Helpline, clock: FrozenClock
) -> None:
    cache = helpline.engine._cache  # what this process holds in memory about people
    await Person(helpline, country="US").send("hello")
    assert len(cache) == 1
    clock.advance(hours=helpline.settings.retention_person_hours, minutes=1)
    await Person(helpline, country="US").send("hello")
    assert len(cache) == 1  # only the newcomer: the first person is gone from memory


async def test_a_turn_saved_by_group_commit_never_undoes_an_opt_out(helpline: Helpline) -> None:
    from bot.models import Contact
    from bot.state_writer import StateWriter

    person = Person(helpline, country="US")
    await person.send("hello")
    alias = await person.alias()
    async with helpline.sessions() as session:
        before = await session.get(Contact, alias)
    assert before is not None and not before.opted_out
    # STOP is recorded while a turn that read the earlier state is still being saved.
    await helpline.engine.set_opt_out(alias, True)
    writer = StateWriter(helpline.db)
    await writer.save(before, None)
    await writer.drain()
    assert await opted_out(helpline.engine, (alias, None))
    assert await person.send("hello") == []


async def test_the_purge_compares_group_committed_times_to_the_minute(database_url: str) -> None:
    """The times the group commit writes sort with the purge's cut-off within one day.

    SQLite keeps a time as text, so a stored time in another layout than the purge's
    (a "T" for the space, say) would sort wrong against it on the same date: the row of
    someone past the window would stay in the database."""
    import datetime as dt

    from tests.conftest import prepare_database

    await prepare_database(database_url)
    clock = FrozenClock(dt.datetime(2026, 6, 1, 9, 0, 0, 0, tzinfo=dt.UTC))
    settings = make_settings(
        database_url,
        HELPLINE_RETENTION_PERSON_HOURS=1,
        HELPLINE_ALIAS_KEY_ROTATION_HOURS=10_000,
    )
    line = build_helpline(settings, clock=clock)
    await line.start()
    try:
        gone, kept = Person(line, user_id="past-the-window"), Person(line, user_id="within-it")
        assert catalogue("es").raw("option.hotlines") in (await gone.send("hola"))[1]
        clock.advance(minutes=10)
        assert catalogue("es").raw("option.hotlines") in (await kept.send("hola"))[1]
        clock.advance(minutes=55)  # 65 minutes after the first, 55 after the second
        assert (await purge(line)).contacts == 1
        assert catalogue("en").raw("language.prompt") in (await gone.send("ok"))[-1]
        assert catalogue("en").raw("language.prompt") not in (await kept.send("ok"))[-1]
    finally:
        await line.stop()


async def test_group_committed_times_are_stored_as_every_other_write_stores_them(
    database_url: str,
) -> None:
    """The batch writes past the ORM: its times must be the same text (on SQLite) as a
    row the ORM writes at the same instant, or comparisons within a second go wrong."""
    import datetime as dt

    from sqlalchemy import text

    from bot.db import transaction
    from bot.models import Contact
    from tests.conftest import prepare_database

    await prepare_database(database_url)
    instant = dt.datetime(2026, 6, 1, 9, 0, 0, 0, tzinfo=dt.UTC)
    line = build_helpline(make_settings(database_url), clock=FrozenClock(instant))
    await line.start()
    try:
        await Person(line, user_id="batched").send("hello")
        async with transaction(line.sessions) as session:
            orm = Contact(alias="by-the-orm", channel="sms", language="en", country="")
            orm.last_seen = instant
            session.add(orm)
        async with line.sessions() as session:
            raw = await session.connection()
            rows = (await raw.execute(text("SELECT alias, last_seen FROM contact"))).all()
    finally:
        await line.stop()
    stored = {alias: at for alias, at in rows}
    assert len(stored) == 2
    assert len(set(stored.values())) == 1, stored


@contextlib.asynccontextmanager
async def statements_while(
    line: Helpline, setup: list[str], teardown: list[str]
) -> AsyncIterator[None]:
    """Run ``setup`` (triggers, say) in one transaction, and ``teardown`` when done."""
    from sqlalchemy import text

    async def run(statements: list[str]) -> None:
        async with line.db.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))

    await run(setup)
    try:
        yield
    finally:
        await run(teardown)


@contextlib.asynccontextmanager
async def database_refusing_writes(line: Helpline) -> AsyncIterator[None]:
    """SQLite: another connection holds the write lock. PostgreSQL: a trigger refuses
    message ids (every statement the group commit sends inserts one)."""
    if line.db.dialect.name == "sqlite":
        assert line.db.url.database is not None
        holder = sqlite3.connect(line.db.url.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    refuse = [
        "CREATE FUNCTION refuse_seen() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
        "CREATE TRIGGER refuse_seen BEFORE INSERT ON seen_message"
        " FOR EACH ROW EXECUTE FUNCTION refuse_seen()",
    ]
    allow = ["DROP TRIGGER refuse_seen ON seen_message", "DROP FUNCTION refuse_seen()"]
    async with statements_while(line, refuse, allow):
        yield


async def test_a_group_commit_the_database_refuses_saves_nothing_and_the_redelivery_is_answered(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The person's state and the message id are saved together or not at all: a refused
    commit fails the turn with the database's error (the webhook answers 503 and the
    carrier delivers again), leaves no half-saved state, and quotes nobody."""
    from sqlalchemy.exc import OperationalError

    from bot import db
    from bot.models import Contact
    from tests.conftest import prepare_database

    monkeypatch.setattr(db, "SQLITE_BUSY_SECONDS", 0.2)  # the lock is not waited out
    await prepare_database(database_url)
    line = build_helpline(make_settings(database_url))
    await line.start()
    try:
        await Person(line, user_id="+5511987650000").send("oi")  # this period's alias key
        person = Person(line, country="BR", user_id="+5511987650001")
        async with database_refusing_writes(line):
            with pytest.raises(OperationalError) as refused:
                await person.send("olá", message_id="SM-refused")
        alias = await person.alias()
        assert alias not in str(refused.value) and "987650001" not in str(refused.value)
        async with line.sessions() as session:
            assert await session.get(Contact, alias) is None
        replies = await person.send("olá", message_id="SM-refused")
        assert catalogue("pt").raw("option.hotlines") in replies[1]
        async with line.sessions() as session:
            saved = await session.get(Contact, alias)
        assert saved is not None and saved.language == "pt"
    finally:
        await line.stop()


@contextlib.asynccontextmanager
async def contacts_refused_by_a_constraint(line: Helpline) -> AsyncIterator[None]:
    """Every new or changed person state refused as a constraint violation would be
    (an ``IntegrityError``), as a future constraint on the table might refuse it."""
    if line.db.dialect.name == "sqlite":
        refuse = [
            f"CREATE TRIGGER refuse_{when} BEFORE {when} ON contact"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
            for when in ("insert", "update")
        ]
        allow = ["DROP TRIGGER refuse_insert", "DROP TRIGGER refuse_update"]
    else:
        refuse = [
            "CREATE FUNCTION refuse_contact() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END $$",
            "CREATE TRIGGER refuse_contact BEFORE INSERT OR UPDATE ON contact"
            " FOR EACH ROW EXECUTE FUNCTION refuse_contact()",
        ]
        allow = ["DROP TRIGGER refuse_contact ON contact", "DROP FUNCTION refuse_contact()"]
    async with statements_while(line, refuse, allow):
        yield


async def test_a_turn_refused_by_a_constraint_is_not_taken_for_a_duplicate_and_is_answered_again(
    database_url: str,
) -> None:
    """Only a copy of the same message id saved first makes a refused save a duplicate:
    any other refusal fails the turn, so the carrier's redelivery is answered. Taken for a
    duplicate, the message would get no reply from anyone."""
    from sqlalchemy.exc import DBAPIError

    from tests.conftest import prepare_database

    await prepare_database(database_url)
    line = build_helpline(make_settings(database_url))
    await line.start()
    try:
        person = Person(line, country="KE", user_id="+254712000111")
        await person.send("habari", message_id="SM-first")
        async with contacts_refused_by_a_constraint(line):
            # SQLite: IntegrityError; PostgreSQL's group commit: OperationalError (503).
            with pytest.raises(DBAPIError) as refused:
                await person.send("msaada", message_id="SM-refused")
        assert "712000111" not in str(refused.value) and "msaada" not in str(refused.value)
        replies = await person.send("msaada", message_id="SM-refused")
        assert replies, "the carrier's redelivery got no answer"
        assert await person.send("msaada", message_id="SM-refused") == []
    finally:
        await line.stop()
