"""The scanner can fail: a leak planted in each kind of store is found."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from tests import services
from tests.privacy.canaries import Canaries
from tests.privacy.scanner import Hit, scan_files, scan_postgres, scan_redis


def test_a_canary_in_a_sqlite_database_its_wal_or_a_temp_file_is_found(tmp_path: Path) -> None:
    canaries = Canaries()
    in_table, in_wal, in_temp, utf16 = (canaries.token() for _ in range(4))
    database = tmp_path / "leaky.db"
    keep_open = sqlite3.connect(database)
    keep_open.execute("PRAGMA journal_mode=WAL")
    keep_open.execute("CREATE TABLE note (body TEXT)")
    keep_open.execute("INSERT INTO note VALUES (?)", (in_table,))
    keep_open.commit()
    keep_open.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    keep_open.execute("INSERT INTO note VALUES (?)", (in_wal,))  # lands in -wal only
    keep_open.commit()
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "upload.part").write_text(f"body={in_temp}")
    (tmp_path / "tmp" / "wide.txt").write_bytes(utf16.encode("utf-16-le"))
    try:
        hits, files = scan_files([tmp_path], canaries.all)
    finally:
        keep_open.close()
    found = {(hit.canary, Path(hit.where).name) for hit in hits}
    assert (in_table, "leaky.db") in found
    assert (in_wal, "leaky.db-wal") in found
    assert (in_wal, "leaky.db") not in found
    assert (in_temp, "upload.part") in found
    assert (utf16, "wide.txt") in found
    assert files >= 4


def test_a_canary_in_a_debug_log_line_is_found(tmp_path: Path, debug_log: Path) -> None:
    canaries = Canaries()
    leak = canaries.token()
    logging.getLogger("bot.somewhere").debug("person wrote %s", leak)  # a bug, on purpose
    hits, _ = scan_files([debug_log.parent], canaries.all)
    assert [hit.canary for hit in hits] == [leak]


def test_a_clean_directory_has_no_hits(tmp_path: Path) -> None:
    canaries = Canaries()
    canaries.token()
    (tmp_path / "clean.txt").write_text("nothing to see")
    assert scan_files([tmp_path], canaries.all) == ([], 1)


@pytest.mark.postgres
def test_a_canary_in_any_postgres_column_is_found_even_as_bytea() -> None:
    services.require("PostgreSQL", services.postgres_available())
    name = services.create_database()
    dsn = f"postgresql://{services.PG_USER}@{services.PG_HOST}:{services.PG_PORT}/{name}"
    canaries = Canaries()
    text_leak, bytes_leak = canaries.token(), canaries.token()

    async def plant_and_scan() -> tuple[list[Hit], int]:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute("CREATE TABLE leak (body text, blob bytea)")
            await connection.execute(
                "INSERT INTO leak VALUES ($1, $2)", f"said {text_leak}", bytes_leak.encode()
            )
        finally:
            await connection.close()
        return await scan_postgres(dsn, canaries.all)

    try:
        hits, rows = asyncio.run(plant_and_scan())
    finally:
        services.drop_database(name)
    assert rows == 1
    assert {hit.canary for hit in hits} == {text_leak, bytes_leak}


@pytest.mark.redis
async def test_a_canary_in_a_redis_key_or_value_is_found() -> None:
    services.require("Redis", services.redis_available())
    canaries = Canaries()
    in_value, in_key, in_hash = canaries.token(), canaries.token(), canaries.token()
    client = aioredis.from_url(services.REDIS_URL)
    keys = [f"privacy-test:{canaries.token()}", f"privacy-test:{in_key}", "privacy-test:hash"]
    try:
        await client.set(keys[0], f"body {in_value}", ex=60)
        await client.set(keys[1], "x", ex=60)
        await client.hset(keys[2], "text", in_hash)
        await client.expire(keys[2], 60)
        hits, _ = await scan_redis(services.REDIS_URL, canaries.all)
    finally:
        await client.delete(*keys)
        await client.aclose()
    assert {in_value, in_key, in_hash} <= {hit.canary for hit in hits}
