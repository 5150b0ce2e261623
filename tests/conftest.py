"""Shared fixtures: a real database (SQLite always, PostgreSQL when it answers) and a help line."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import uvloop
from sqlalchemy import event, text
from sqlmodel import SQLModel

from bot.db import is_sqlite
from bot.helpline import Helpline, build_helpline
from bot.migrate import migrate
from bot.models import utcnow
from bot.settings import Settings
from tests import services
from tests.dialogue import Person


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """asyncio's own loop for every test; uvloop as well where a test asks for it
    (``asyncio(loop_factories=["asyncio", "uvloop"])``).

    The workers run on uvloop (uvicorn picks it), whose transports are not asyncio's
    classes: code that handles transports itself is tested on both."""
    marker = item.get_closest_marker("asyncio")
    if marker is not None and "loop_factories" in marker.kwargs:
        return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
    return {"asyncio": asyncio.new_event_loop}


class FrozenClock:
    """A clock tests move by hand."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    if not services.postgres_available():
        yield None
        return
    name = services.create_database()
    url = services.postgres_url(name)
    import asyncio

    asyncio.run(migrate(url))
    yield url
    services.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_database: str | None
) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/helpline.db"
    services.require("PostgreSQL", postgres_database is not None)
    assert postgres_database is not None
    return postgres_database


METRICS_TOKEN = "test-metrics-token"
METRICS_HEADERS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "HELPLINE_MODE": "test",
        "HELPLINE_DATABASE_URL": database_url,
        "HELPLINE_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "HELPLINE_PUBLIC_URL": "http://testserver",
        "HELPLINE_REDIS_URL": None,  # never picked up from the environment by accident
        "HELPLINE_METRICS_TOKEN": METRICS_TOKEN,
    }
    values.update(overrides)
    return Settings.model_validate(values)


async def prepare_database(url: str) -> None:
    """SQLite: migrate a fresh file. PostgreSQL: empty the shared test database's tables."""
    if url.startswith("sqlite"):
        await migrate(url)
        return
    helpline_db = build_helpline(make_settings(url)).db
    async with helpline_db.begin() as connection:
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await helpline_db.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def helpline(database_url: str, clock: FrozenClock) -> AsyncIterator[Helpline]:
    await prepare_database(database_url)
    line = build_helpline(make_settings(database_url), clock=clock)
    await line.start()
    yield line
    await line.stop()


@pytest.fixture
def person(helpline: Helpline) -> Person:
    return Person(helpline)


def contact_reads(line: Helpline) -> list[str]:
    """Every statement that reads people's state from this worker's database.

    On PostgreSQL a turn reads with asyncpg's own call (``bot/person_reads.py``), past
    SQLAlchemy's events, so there the statements are seen at the driver: asyncpg's
    query logger on every connection this worker's pool hands out."""
    reads: list[str] = []

    def note(statement: str) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM contact" in statement:
            reads.append(statement)

    if is_sqlite(str(line.db.url)):

        def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            note(statement)

        event.listen(line.db.sync_engine, "before_cursor_execute", record)
        plain = line.engine.person_reads.plain
        if plain is not None:  # a turn's read is one hand-off to a thread, past aiosqlite
            event.listen(plain.engine, "before_cursor_execute", record)
        return reads

    def logged(query: Any) -> None:
        note(query.query)

    def checkout(dbapi_connection: Any, *_: object) -> None:
        dbapi_connection.driver_connection.add_query_logger(logged)  # a set: added once

    event.listen(line.db.sync_engine, "checkout", checkout)
    return reads
