"""The help line's parts, built once from settings and shared by every surface.

Channels, the console, the CLI and the tests all get their engine, queue and relay
from here, so there is one way to wire the help line.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.aliases import AliasKeys
from bot.coherence import Versions
from bot.contact_cache import ContactCache, SeenIds
from bot.counts import Counts
from bot.crypto import Sealer
from bot.db import SessionFactory, create_engine, read_session_factory, session_factory
from bot.dedup import DeliveryClaims
from bot.delivery import Senders
from bot.engine import SEEN_ID_TTL, Clock, Engine
from bot.hotlines import directory
from bot.models import utcnow
from bot.person_reads import PersonReads
from bot.priority import Priority
from bot.queue import Queue
from bot.relay import InProcessRelay, Relay
from bot.settings import Settings
from bot.state_writer import StateWriter
from handlers import build_router

log = logging.getLogger(__name__)

STOP_STEP_SECONDS = 10.0
"""The longest one step of a worker's stop may take (SIGTERM must end the process)."""


@dataclass(slots=True)
class Helpline:
    settings: Settings
    db: AsyncEngine
    sessions: SessionFactory
    relay: Relay
    senders: Senders
    queue: Queue
    engine: Engine
    aliases: AliasKeys
    counts: Counts
    clock: Clock
    claims: DeliveryClaims
    priority: Priority
    """Live chats before menu traffic, in this worker (see bot/priority.py)."""

    def sealer(self, purpose: str) -> Sealer:
        return Sealer.from_secret(self.settings.secret_key.get_secret_value(), purpose)

    async def start(self) -> None:
        await self.relay.start()
        await self.engine.start()

    async def stop(self) -> None:
        """Save what is in flight and let go of every connection; no step may hang the stop."""
        steps: tuple[tuple[str, Callable[[], Awaitable[object]]], ...] = (
            ("state", self.engine.drain),
            ("counts", lambda: self.counts.flush(self.sessions)),
            ("relay", self.relay.stop),
            ("claims", self.claims.close),
            ("database", lambda: self.db.dispose()),
        )
        for name, step in steps:
            try:
                async with asyncio.timeout(STOP_STEP_SECONDS):
                    await step()
            except TimeoutError:
                log.warning("stop step did not finish within %s s step=%s", STOP_STEP_SECONDS, name)


def build_relay(settings: Settings) -> Relay:
    if settings.redis_url:
        from bot.redis_relay import RedisRelay, relay_namespace

        # Workers of one help line share a database; others on the same Redis stay apart.
        return RedisRelay(settings.redis_url, namespace=relay_namespace(settings.database_url))
    return InProcessRelay()


def build_helpline(
    settings: Settings, *, clock: Clock = utcnow, relay: Relay | None = None
) -> Helpline:
    secret = settings.secret_key.get_secret_value()
    db = create_engine(settings.database_url)
    sessions = session_factory(db)
    relay = relay or build_relay(settings)
    senders = Senders()
    priority = Priority(menu_limit=settings.menu_concurrency)
    reads = read_session_factory(db)
    people = PersonReads(reads, db)
    queue = Queue(
        plain=people.plain,
        priority=priority,
        sessions=sessions,
        relay=relay,
        senders=senders,
        address_sealer=Sealer.from_secret(secret, "reply-address"),
        hold=dt.timedelta(seconds=settings.queue_hold_seconds),
        clock=clock,
    )
    aliases = AliasKeys(
        Sealer.from_secret(secret, "alias-key-wrap"),
        dt.timedelta(hours=settings.alias_key_rotation_hours),
    )
    counts = Counts()
    claims = DeliveryClaims(settings.redis_url, namespace=claims_namespace(settings))
    keep_for = dt.timedelta(hours=settings.retention_person_hours)
    versions = Versions(
        claims,
        namespace=claims_namespace(settings),
        keep_for_seconds=int(keep_for.total_seconds()),
        seen_seconds=int(SEEN_ID_TTL.total_seconds()),
        outages=lambda: relay.outages,
    )
    engine = Engine(
        settings=settings,
        sessions=sessions,
        aliases=aliases,
        queue=queue,
        router=build_router(),
        directory=directory(),
        counts=counts,
        writer=StateWriter(db, versions),
        # One process (in-process relay) sees every change: its cache is authoritative.
        # Several workers (Redis) check each entry's version in Redis (bot/coherence.py).
        cache=ContactCache(enabled=True, keep_for=keep_for, shared=versions.enabled),
        seen_ids=SeenIds(enabled=settings.redis_url is None),
        clock=clock,
        claims=claims,
        versions=versions,
        reads=reads,
        people=people,
    )
    return Helpline(
        settings=settings,
        db=db,
        sessions=sessions,
        relay=relay,
        senders=senders,
        queue=queue,
        engine=engine,
        aliases=aliases,
        counts=counts,
        clock=clock,
        claims=claims,
        priority=priority,
    )


def claims_namespace(settings: Settings) -> str:
    """Workers that share a database share their message-id claims (and no one else)."""
    if not settings.redis_url:
        return ""
    from bot.redis_relay import relay_namespace

    return relay_namespace(settings.database_url)
