"""Database engine and sessions: SQLite by default, PostgreSQL through the same code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, event, text
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Ticket

SessionFactory = async_sessionmaker[AsyncSession]

CONNECT_SECONDS = 3.0
"""Opening a PostgreSQL connection (a black-holed server never answers the handshake)."""
STATEMENT_SECONDS = 4.0
"""One statement, checked by asyncpg on the client and by PostgreSQL on the server."""
POOL_SECONDS = 3.0
"""Waiting for a free pooled connection when every one is busy."""
SQLITE_BUSY_SECONDS = 10.0
"""Waiting for SQLite's write lock (held by another process, e.g. ``helpline purge``)."""


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, maintenance: bool = False) -> AsyncEngine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout.

    ``maintenance`` (migrations) lifts the statement time-out: building an index on a
    large table may take longer than any webhook may wait.
    """
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # A database that hangs rather than refusing must fail fast, so webhooks can answer
    # 503 and the carrier redelivers well inside Twilio's 15 seconds, instead of stalling
    # for a minute: each wait below is bounded, and bot.limits puts a deadline on the
    # whole webhook as the last resort.
    #
    # No ``pool_pre_ping``: it cost a round trip at every checkout, about a tenth of a
    # worker's CPU on the SMS path (py-spy, 2026-11-30). A connection that died with the
    # server fails its first statement instead; SQLAlchemy then discards every pooled
    # connection made before (a disconnect invalidates the pool), that webhook gets 503
    # and the carrier delivers it again (``bot.faults``), so nothing is lost.
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_timeout=POOL_SECONDS,
        connect_args={
            "timeout": CONNECT_SECONDS,
            "command_timeout": None if maintenance else STATEMENT_SECONDS,
            # The server gives up on a statement too, so no lock is held past the client.
            "server_settings": {
                "statement_timeout": "0" if maintenance else str(int(STATEMENT_SECONDS * 1000))
            },
        },
    )


def create_sync_engine(url: URL) -> Engine:
    """A plain (thread-bound) engine on the same SQLite file, for batched writes."""
    engine = sa_create_engine(
        url.set(drivername="sqlite+pysqlite"),
        connect_args={"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False},
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted rows are overwritten, so erased state does not linger in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def read_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions for a turn's reads of one row: no transaction, so no BEGIN and no
    ROLLBACK round trip around them (each statement sees what is committed)."""
    return session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))


@asynccontextmanager
async def transaction(sessions: SessionFactory) -> AsyncIterator[AsyncSession]:
    """Open a session, commit on success, roll back on error."""
    async with sessions() as session, session.begin():
        yield session


OPEN_TICKET = text("status != 'closed'")
"""The predicate of the partial unique index of migration 0003: one open ticket per person."""


def one_open_ticket(session: AsyncSession) -> SqliteInsert | PostgresInsert:
    """An INSERT of a ticket that does nothing if the person already has an open one."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgres_insert if dialect == "postgresql" else sqlite_insert
    return insert(Ticket).on_conflict_do_nothing(
        index_elements=["contact_alias"], index_where=OPEN_TICKET
    )
