"""A real console: the app under uvicorn on a free loopback port, a recording phone, advocates."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest
import uvicorn
from sqlalchemy import LargeBinary, String, Text, select
from sqlmodel import SQLModel

from bot.accounts import TOTP_PURPOSE, add_advocate
from bot.app import create_app
from bot.helpline import Helpline, build_helpline
from bot.server_options import uvicorn_options
from bot.states import Role
from bot.types import Address, Channel, Reply
from tests.conftest import FrozenClock, make_settings, prepare_database

PASSWORD = "correct horse battery staple"


class Phone:
    """The person's phone: records every message the help line sends outside a webhook reply."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []
        self._arrived = asyncio.Condition()

    async def send(self, address: Address, replies: Sequence[Reply]) -> bool:
        async with self._arrived:
            self.received.extend((address.value, reply.text) for reply in replies)
            self._arrived.notify_all()
        return True

    def texts(self, user_id: str) -> list[str]:
        return [text for to, text in self.received if to == user_id]

    async def wait_for(self, user_id: str, needle: str, seconds: float = 10) -> str:
        """Wait until the person has received a message containing ``needle``; return it."""

        def found() -> str | None:
            return next((t for t in self.texts(user_id) if needle in t), None)

        async with asyncio.timeout(seconds), self._arrived:
            await self._arrived.wait_for(lambda: found() is not None)
        text = found()
        assert text is not None
        return text


@dataclass
class Staffer:
    name: str
    secret: str
    id: int

    def code(self, clock: FrozenClock, *, steps_later: int = 0) -> str:
        return str(pyotp.TOTP(self.secret).at(clock.now.timestamp() + 30 * steps_later))


@dataclass
class Console:
    helpline: Helpline
    clock: FrozenClock
    phone: Phone
    base_url: str
    database_path: Path | None
    staff: dict[str, Staffer] = field(default_factory=dict)

    async def add(
        self,
        name: str,
        *,
        role: Role = Role.ADVOCATE,
        languages: tuple[str, ...] = ("en",),
        replace: bool = False,
    ) -> Staffer:
        advocate, secret = await add_advocate(
            self.helpline.sessions,
            self.helpline.sealer(TOTP_PURPOSE),
            name=name,
            password=PASSWORD,
            role=role,
            languages=languages,
            replace=replace,
        )
        assert advocate.id is not None
        self.staff[name] = Staffer(name, secret, advocate.id)
        return self.staff[name]

    @property
    def origin(self) -> str:
        return self.base_url

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/console/ws"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def serve(helpline: Helpline) -> AsyncIterator[str]:
    """Run the whole app under a real uvicorn server; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(helpline=helpline),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        # Production's HTTP protocol (its WebSocket upgrades included); no graceful wait.
        http=uvicorn_options()["http"],
        ws="websockets-sansio",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def start_console(
    database_url: str, clock: FrozenClock, **settings: object
) -> AsyncIterator[Console]:
    await prepare_database(database_url)
    helpline = build_helpline(make_settings(database_url, **settings), clock=clock)
    phone = Phone()
    async with serve(helpline) as base_url:
        # After the app has wired its own simulator sender: the recording phone wins.
        helpline.senders.register(Channel.SIMULATOR, phone)
        path = Path(database_url.split("///", 1)[1]) if database_url.startswith("sqlite") else None
        yield Console(helpline, clock, phone, base_url, path)


@pytest.fixture
async def console(database_url: str, clock: FrozenClock) -> AsyncIterator[Console]:
    """The console on SQLite and on PostgreSQL."""
    async for running in start_console(database_url, clock):
        yield running


@pytest.fixture
async def sqlite_console(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Console]:
    """The console on SQLite only (browser tests: one engine keeps them fast)."""
    async for running in start_console(f"sqlite+aiosqlite:///{tmp_path}/helpline.db", clock):
        yield running


async def stored_text(helpline: Helpline) -> list[str]:
    """Every text and bytes value in every table, decoded, for canary searches."""
    values: list[str] = []
    async with helpline.db.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | LargeBinary)]
            if not columns:
                continue
            for row in await connection.execute(select(*columns)):
                for value in row:
                    if isinstance(value, bytes):
                        values.append(value.decode("utf-8", "replace"))
                    elif value is not None:
                        values.append(str(value))
    return values


async def assert_nothing_stored(console: Console, canaries: Sequence[str]) -> None:
    """No table, and for SQLite no byte of the database files, holds any canary."""
    stored = "\n".join(await stored_text(console.helpline))
    for canary in canaries:
        assert canary not in stored, "a typed text reached the database"
    if console.database_path is not None:
        for path in console.database_path.parent.glob(console.database_path.name + "*"):
            raw = path.read_bytes()
            for canary in canaries:
                assert canary.encode() not in raw, f"a typed text is in {path.name}"
