"""Aliases: the only name the help line has for a person.

An alias is HMAC-SHA256 over channel and user id, under a random key that belongs to
one rotation period (a day by default). Keys are stored wrapped with the server
secret and destroyed when their period and the person-state window have passed, so a
seized server cannot link old state to a number: recomputing is impossible without
the key. A contact who writes across a rotation is carried over to the new alias.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.crypto import DecryptionError, Sealer, keyed_hash
from bot.db import SessionFactory, transaction
from bot.models import AliasKey, utcnow
from bot.types import Channel

_KEY_BYTES = 32
log = logging.getLogger(__name__)


class AliasKeys:
    """Current and previous alias keys, cached in memory and persisted wrapped."""

    def __init__(self, sealer: Sealer, rotation: dt.timedelta) -> None:
        self._sealer = sealer
        self._rotation = rotation
        self._cache: dict[int, bytes] = {}
        self._missing: set[int] = set()
        """Past periods known to have no key: only the current period's key is ever created."""
        self._kept_from: int | None = None
        """The oldest period whose key may be in memory: older ones were dropped already."""

    def epoch(self, now: dt.datetime) -> int:
        return int(now.timestamp() // self._rotation.total_seconds())

    async def key_for(self, sessions: SessionFactory, epoch: int, *, create: bool) -> bytes | None:
        cached = self._cache.get(epoch)
        if cached is not None:
            return cached
        if not create and epoch in self._missing:
            return None
        async with sessions() as session:
            row = await session.get(AliasKey, epoch)
        if row is None:
            if not create:
                self._missing.add(epoch)
                return None
            try:
                async with transaction(sessions) as session:
                    wrapped = self._sealer.seal(secrets.token_bytes(_KEY_BYTES))
                    session.add(AliasKey(epoch=epoch, wrapped_key=wrapped))
            except IntegrityError:
                pass  # another worker created this period's key first; use theirs
            async with sessions() as session:
                row = await session.get(AliasKey, epoch)
            assert row is not None
        try:
            key = self._sealer.open(row.wrapped_key)
        except DecryptionError:
            # Sealed under a secret that has since been replaced: that key is as good as
            # destroyed. Start the period afresh (old state simply becomes unlinkable).
            log.warning("alias key for epoch=%s unreadable; replacing it", epoch)
            async with transaction(sessions) as session:
                await session.exec(delete(AliasKey).where(col(AliasKey.epoch) == epoch))
            return await self.key_for(sessions, epoch, create=create)
        self._cache[epoch] = key
        return key

    async def aliases(
        self,
        sessions: SessionFactory,
        channel: Channel,
        user_id: str,
        now: dt.datetime | None = None,
    ) -> tuple[str, str | None]:
        """Return (current alias, previous period's alias or None)."""
        current_epoch = self.epoch(now or utcnow())
        self._forget_older_than(current_epoch - 1)
        current = await self.key_for(sessions, current_epoch, create=True)
        assert current is not None
        previous = await self.key_for(sessions, current_epoch - 1, create=False)
        subject = f"{channel}:{user_id}"
        return (
            keyed_hash(current, subject),
            keyed_hash(previous, subject) if previous is not None else None,
        )

    async def destroy_before(self, session: AsyncSession, epoch: int) -> int:
        """Destroy every key older than ``epoch``; return how many went."""
        rows = (await session.exec(select(AliasKey.epoch).where(col(AliasKey.epoch) < epoch))).all()
        await session.exec(delete(AliasKey).where(col(AliasKey.epoch) < epoch))
        for old in rows:
            self._cache.pop(old, None)
        return len(rows)

    def forget_cache(self) -> None:
        self._cache.clear()
        self._missing.clear()
        self._kept_from = None

    def _forget_older_than(self, epoch: int) -> None:
        """Drop keys of finished periods from memory; the database copy is purged later.

        Runs for every message, so it does the work only when a period has ended."""
        if self._kept_from == epoch:
            return
        self._kept_from = epoch
        for old in [e for e in self._cache if e < epoch]:
            del self._cache[old]
        self._missing = {e for e in self._missing if e >= epoch}
