"""Apply Alembic migrations from code (``helpline migrate``, the demo, the tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from bot.db import create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _upgrade(connection: Connection, url: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema."""
    engine = create_engine(url, maintenance=True)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, url)
    finally:
        await engine.dispose()


def migrate_sync(url: str) -> None:
    asyncio.run(migrate(url))
