"""A line larger than the state held in memory: newcomers still cost no database read.

One process holds the state of its newest people and only the alias of everyone else
the database still holds (bot/contact_cache.py). The line here is filled in bulk past
what the state part holds, as the growth benchmark fills it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import insert

from bot.contact_cache import ContactCache
from bot.helpline import Helpline, build_helpline
from bot.i18n import catalogue
from bot.models import Contact
from bot.states import State
from tests.conftest import FrozenClock, contact_reads, make_settings, prepare_database
from tests.dialogue import Person

STATE_CAPACITY = ContactCache(enabled=True, keep_for=dt.timedelta(hours=1))._capacity
_CONTACTS = Contact.__table__  # type: ignore[attr-defined]
STEP = dt.timedelta(milliseconds=100)
"""Between one seeded person's last message and the next one's: all within an hour."""


@dataclass
class Line:
    helpline: Helpline
    returning: Person
    """Someone who wrote in Spanish hours ago, before everyone else: only their alias is
    held in memory."""
    reads: list[str]


def _contact(alias: str, language: str, seen: dt.datetime) -> dict[str, Any]:
    return {
        "alias": alias,
        "channel": "simulator",
        "language": language,
        "country": "US",
        "country_said": False,
        "state": State.MAIN_MENU,
        "discreet": False,
        "opted_out": False,
        "ticket_id": None,
        "session_started": seen,
        "last_seen": seen,
        "last_queue_notice": None,
        "concern": False,
        "asked": None,
    }


@pytest.fixture
async def large_line(database_url: str, clock: FrozenClock) -> AsyncIterator[Line]:
    await prepare_database(database_url)
    settings = make_settings(database_url)
    # The alias keys live in the database: the next process derives the same alias.
    first = build_helpline(settings, clock=clock)
    returning_alias = await Person(first, user_id="returning").alias()
    now = clock()
    rows = [_contact(returning_alias, "es", now - dt.timedelta(hours=6))] + [
        _contact(secrets.token_hex(32), "en", now - dt.timedelta(hours=5) + index * STEP)
        for index in range(STATE_CAPACITY + 500)
    ]
    async with first.db.begin() as connection:
        for at in range(0, len(rows), 5_000):
            await connection.execute(insert(_CONTACTS), rows[at : at + 5_000])
    await first.stop()
    line = build_helpline(settings, clock=clock)
    await line.start()
    try:
        yield Line(line, Person(line, user_id="returning"), contact_reads(line))
    finally:
        await line.stop()


async def test_a_newcomer_to_a_line_larger_than_the_state_memory_costs_no_database_read(
    large_line: Line,
) -> None:
    replies = await Person(large_line.helpline, country="US").send("hello")
    assert "1 Hotline numbers" in replies[1]
    assert large_line.reads == []


async def test_someone_whose_state_made_way_is_read_and_keeps_their_language(
    large_line: Line,
) -> None:
    replies = await large_line.returning.send("hello")
    # Not taken for a newcomer: the Spanish chosen hours ago, read from the database.
    assert catalogue("es").raw("option.hotlines") in replies[-1]
    assert len(large_line.reads) == 1
    assert catalogue("es").raw("option.hotlines") in (await large_line.returning.send("0"))[-1]
    assert len(large_line.reads) == 1  # their state is in memory again


async def test_memory_lets_go_of_every_alias_past_the_retention_window(
    large_line: Line, clock: FrozenClock
) -> None:
    cache = large_line.helpline.engine._cache  # what this process holds about people
    assert len(cache) == STATE_CAPACITY + 501
    clock.advance(hours=large_line.helpline.settings.retention_person_hours)
    await Person(large_line.helpline, country="US").send("hello")
    assert len(cache) == 1  # only the newcomer
    # The person from six hours ago is gone from memory as from the window: someone new.
    replies = await large_line.returning.send("hello")
    assert catalogue("en").raw("option.hotlines") in replies[-1]
