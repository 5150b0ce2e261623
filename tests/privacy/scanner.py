"""Search everything the help line wrote for canary strings.

A canary is a unique string put into a message, a phone number, a chat id or a
Telegram name. After a scripted conversation, every byte the app could have left
behind is searched: files (the SQLite database with its -wal and -shm files, the
DEBUG log, the temp directory), every row of every PostgreSQL table, every Redis key
and value. Each canary is looked for as UTF-8, as UTF-16-LE and as hex (PostgreSQL
renders bytea as hex when a row is cast to text).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis


@dataclass(frozen=True, slots=True)
class Hit:
    canary: str
    where: str


def _needles(canary: str) -> tuple[bytes, ...]:
    utf8 = canary.encode()
    return (utf8, canary.encode("utf-16-le"), utf8.hex().encode())


def search_bytes(data: bytes, canaries: Iterable[str], where: str) -> list[Hit]:
    lowered = data.lower()
    hits = []
    for canary in canaries:
        if any(needle.lower() in lowered for needle in _needles(canary)):
            hits.append(Hit(canary, where))
    return hits


def scan_files(directories: Sequence[Path], canaries: Sequence[str]) -> tuple[list[Hit], int]:
    """Search every file under ``directories``; return the hits and how many files were read."""
    hits: list[Hit] = []
    read = 0
    for directory in directories:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                hits += search_bytes(path.read_bytes(), canaries, str(path))
                read += 1
    return hits, read


async def scan_postgres(dsn: str, canaries: Sequence[str]) -> tuple[list[Hit], int]:
    """Search every row of every table in the public schema; return hits and rows read."""
    connection = await asyncpg.connect(dsn)
    hits: list[Hit] = []
    rows_read = 0
    try:
        tables = await connection.fetch(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        for table in tables:
            name = table["table_name"]
            # The name comes from the catalogue, not from input.
            rows = await connection.fetch(f'SELECT t::text AS row FROM "{name}" t')  # noqa: S608
            rows_read += len(rows)
            for row in rows:
                hits += search_bytes(row["row"].encode(), canaries, f"postgres:{name}")
    finally:
        await connection.close()
    return hits, rows_read


async def scan_redis(url: str, canaries: Sequence[str]) -> tuple[list[Hit], int]:
    """Search every key name and value in the Redis database at ``url``."""
    client = aioredis.from_url(url)
    hits: list[Hit] = []
    keys_read = 0
    try:
        async for key in client.scan_iter(count=1000):
            keys_read += 1
            hits += search_bytes(key, canaries, f"redis key {key!r}")
            hits += search_bytes(await _redis_value(client, key), canaries, f"redis:{key!r}")
    finally:
        await client.aclose()
    return hits, keys_read


async def _redis_value(client: aioredis.Redis, key: bytes) -> bytes:
    kind = (await client.type(key)).decode()
    if kind == "string":
        return bytes(await client.get(key) or b"")
    if kind == "list":
        return b"\n".join(await client.lrange(key, 0, -1))
    if kind == "set":
        return b"\n".join(await client.smembers(key))
    if kind == "zset":
        return b"\n".join(await client.zrange(key, 0, -1))
    if kind == "hash":
        pairs = await client.hgetall(key)
        return b"\n".join(k + b"=" + v for k, v in pairs.items())
    if kind == "stream":
        entries = await client.xrange(key)
        return repr(entries).encode()
    return b""
