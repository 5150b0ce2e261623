"""Real PostgreSQL and Redis for tests: used whenever they answer, required in CI.

Each test session gets its own PostgreSQL database (dropped at the end), so helpers
and CI runs on the same server never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket

import asyncpg
import pytest

PG_HOST = os.environ.get("HELPLINE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("HELPLINE_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("HELPLINE_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("HELPLINE_TEST_PG_DB", "test")
REDIS_URL = os.environ.get("HELPLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(service: str, available: bool) -> None:
    """Skip without the service locally; in CI a missing service is a failure."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{service} must answer in CI", pytrace=False)
    pytest.skip(f"{service} is not running here")


def postgres_available() -> bool:
    return answers(PG_HOST, PG_PORT)


def redis_available() -> bool:
    host, port = REDIS_URL.split("//", 1)[1].split("/", 1)[0].split(":")
    return answers(host, int(port))


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB
    )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def create_database() -> str:
    name = f"helpline_test_{secrets.token_hex(6)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    return name


def drop_database(name: str) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def postgres_url(name: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
