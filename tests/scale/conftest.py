"""Fixtures for several real workers sharing PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.accounts import TOTP_PURPOSE, add_advocate
from bot.helpline import build_helpline
from bot.migrate import migrate
from tests import services
from tests.conftest import make_settings


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    password: str
    totp: str


@pytest.fixture(scope="module")
def scale_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one module's workers."""
    services.require("PostgreSQL", services.postgres_available())
    name = services.create_database()
    url = services.postgres_url(name)
    try:
        asyncio.run(migrate(url))
        yield url
    finally:
        services.drop_database(name)


async def create_advocate(database_url: str, name: str) -> Account:
    """An English-speaking advocate, created as ``helpline advocate add`` would."""
    helpline = build_helpline(make_settings(database_url))
    password = secrets.token_urlsafe(15)
    try:
        _, totp = await add_advocate(
            helpline.sessions,
            helpline.sealer(TOTP_PURPOSE),
            name=name,
            password=password,
            languages=("en",),
        )
    finally:
        await helpline.db.dispose()
    return Account(name, password, totp)
