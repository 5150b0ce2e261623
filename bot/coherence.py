"""Person state cached in each worker, kept coherent across workers through Redis.

With several workers (PostgreSQL + Redis) every worker keeps its own ``ContactCache``.
A cached state may be used only while no worker has written that person since it was
cached. Redis holds, per alias, a *version*: a random token that every write replaces.

Keys (namespace shared by the workers of one database):

- ``…:ver:<sha256(alias)>``: ``f<random>`` (final) or ``p<deadline>:<random>``
  (a write is in flight, pending until ``deadline``, unix milliseconds). TTL: the
  person-retention window. The alias is itself a keyed hash; it is hashed again so no
  key can be joined with the database. No content, no number.
- ``…:fence``: a random token every cached entry also depends on; replaced to drop
  every worker's cache at once (see "Redis unreachable").
- ``…:seen-since``: the unix time since which this Redis has held every message id
  handled (``bot/dedup.py`` keeps a saved id's claim for ``SEEN_ID_TTL``). Set once
  absent, by the first claim (now) or at start from the database (the newest
  ``seen_message`` row's expiry minus ``SEEN_ID_TTL``). While it is younger than
  ``SEEN_ID_TTL`` the turn also asks the database whether the id was seen.

The protocol, per turn:

1. ``look``: one round trip, one script with the message-id claim (``SET NX``), then
   ``GET ver``, ``fence`` and ``seen-since``; every turn looking at once shares it. A cached entry is used only if the version is final
   and both tokens equal the ones stored with the entry. A pending or missing version
   means: read the database, and do not cache what was read.
2. ``before_write`` (before the commit; one script call for a whole group commit):
   ``SET ver p<deadline>:<random> GET`` for every alias written. From now on no worker
   trusts an entry for these people, and no one caches a read (pending). The old value
   tells whether another write was still in flight (a live pending marker).
3. commit to the database.
4. ``after_write`` (one round trip): a script replaces each pending marker, *only if
   the marker is still ours*, with a new final token when no other write was in
   flight as ours began; this worker then caches the state it wrote with that token.
   If another write was in flight, ours is replaced by a pending marker carrying that
   write's deadline instead: nobody caches until it has passed, and the first write
   after it (every turn writes ``last_seen``) makes the person cacheable again.

Why a stale state is never served:

- A message handled on B right after A's turn: A's reply leaves only after step 4, so
  B's ``look`` sees A's token, which B does not hold: B reads the database, where A's
  commit (step 3) already is. No delivery (pub/sub or otherwise) needs to reach B.
- A reader that looked before a write and read the database during it caches under
  the old token or a pending one; the write's markers differ from both.
- Two writes for one person in flight at once (two messages on two workers): the
  later ``before_write`` sees the earlier live marker, and the earlier ``after_write``
  finds its marker replaced; neither caches, the marker stays pending until the
  earlier write's deadline, so nobody caches until both have committed (the
  deadline, ``WRITE_SECONDS`` after a write begins, is well beyond the
  database's statement and pool time-outs; a write that still commits after its
  deadline replaces the fence, dropping every cache).
- A worker that dies between steps 2 and 4 leaves a pending marker: no one caches that
  person until the deadline, then the next write restores a final token.
- Tokens are random, never counters: a restarted Redis, an expired key or an evicted
  one yields "missing" (no cache), never an old value again.
- Entries for ticket holders are never served (tickets change outside turns, in the
  queue); the queue only ever changes people who hold a ticket.

Redis unreachable (fail safe): ``look`` then returns no token, the turn reads the
database and caches nothing, and this worker drops its whole cache. Its writes still
commit (an opt-out, a state) without steps 2 and 4; the worker then owes a *repair*:
on its next successful contact with Redis, before caching again, it replaces the
fence (every worker's entries become invalid) and sets ``seen-since`` to now (message
ids are checked in the database again for ``SEEN_ID_TTL``). A lost link to Redis
as seen by the relay (``RedisRelay.outages``) also invalidates every entry, so after
an outage that every worker saw, no entry from before it is trusted. The one window
left: Redis reachable from worker B but not from worker A (a partition of A alone);
until A reaches Redis again, B may serve a state older than what A wrote for a
person whose consecutive turns land on A then B. Only counts are logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot import metrics
from bot.batches import Batches
from bot.dedup import CLAIM_SECONDS, DeliveryClaims

if TYPE_CHECKING:
    from bot.redis_link import RedisLink

log = logging.getLogger(__name__)

WRITE_SECONDS = 60
"""How long a pending marker holds: far longer than any commit may take."""

# KEYS: seen-since, fence, then per turn its claim key (or "") and its version key;
# ARGV: claim seconds, now. Returns per turn 1 if its message id was claimed here (or
# none was to be claimed) and its version; then the fence and seen-since. One command
# for every turn waiting (``bot/batches.py``): a pipeline of three commands for each
# turn cost a worker 152 µs against 99 for one script call (2026-11-30).
_LOOK = """
local out = {}
local claims = false
for i = 3, #KEYS, 2 do
  local claimed = 1
  if KEYS[i] ~= '' then
    claimed = redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) and 1 or 0
    claims = true
  end
  out[#out + 1] = claimed
  out[#out + 1] = redis.call('GET', KEYS[i + 1])
end
if claims then
  redis.call('SET', KEYS[1], ARGV[2], 'NX')
end
out[#out + 1] = redis.call('GET', KEYS[2])
out[#out + 1] = redis.call('GET', KEYS[1])
return out
"""

# KEYS: one version key per alias; ARGV: ttl, then the marker per alias.
# Returns each key's value before (false: none).
_MARK = """
local olds = {}
for i = 1, #KEYS do
  olds[i] = redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ARGV[1], 'GET')
end
return olds
"""

# KEYS: fence, then one version key per alias, then the claim of each message id saved;
# ARGV: ttl, the number of aliases, how long to keep a saved claim, then (marker, token)
# per alias. Returns the fence, then 1 for each alias whose marker was still ours (now
# final).
_FINALISE = """
local aliases = tonumber(ARGV[2])
local out = {redis.call('GET', KEYS[1]) or ''}
for i = 1, aliases do
  if redis.call('GET', KEYS[i + 1]) == ARGV[2 * i + 2] then
    redis.call('SET', KEYS[i + 1], ARGV[2 * i + 3], 'EX', ARGV[1])
    out[i + 1] = 1
  else
    out[i + 1] = 0
  end
end
for i = aliases + 2, #KEYS do
  redis.call('EXPIRE', KEYS[i], ARGV[3])
end
return out
"""
# Every call goes over the worker's lean link (``bot/redis_link.py``), by SHA-1.


@dataclass(frozen=True, slots=True)
class Look:
    """What Redis said at the start of a turn."""

    claimed: bool
    """This worker answers the message (no other delivery holds its id)."""
    token: str | None
    """The version a cached entry must carry to be used; None: ask the database."""
    seen_complete: bool
    """Redis holds every message id handled within ``SEEN_ID_TTL``: no database check."""


@dataclass(slots=True)
class Write:
    """Markers set before one commit; ``after_write`` finalises them."""

    markers: dict[str, str]
    clean: set[str] = field(default_factory=set)
    """People no other write was in flight for as this one began."""
    waits: dict[str, int] = field(default_factory=dict)
    """For the others: the deadline (ms) of the write that was in flight."""
    deadline: float = 0.0
    failed: bool = False


LOCAL = Look(claimed=True, token="", seen_complete=False)
"""One process (no Redis): the cache is authoritative, every entry carries ""."""


class Versions:
    """Per-alias versions in Redis; disabled (``LOCAL``) without Redis."""

    def __init__(
        self,
        claims: DeliveryClaims,
        *,
        namespace: str,
        keep_for_seconds: int,
        seen_seconds: int,
        outages: Callable[[], int] = lambda: 0,
    ) -> None:
        self._claims = claims
        self._redis: RedisLink | None = claims.link
        self._errors: tuple[type[Exception], ...] = (OSError,)
        if self._redis is not None:
            # Imported only with Redis configured: a lone worker never loads redis-py.
            from redis.exceptions import RedisError

            self._errors = (RedisError, OSError)
        self._prefix = f"{namespace}:ver:"
        self._fence = f"{namespace}:fence"
        self._seen_since = f"{namespace}:seen-since"
        self._ttl = keep_for_seconds
        self._seen_seconds = seen_seconds
        self._outages = outages
        self._owe_repair = False
        self._finalise = self._redis.script(_FINALISE) if self._redis else None
        self._mark = self._redis.script(_MARK) if self._redis else None
        self._look = self._redis.script(_LOOK) if self._redis else None
        self._looks = Batches(self._look_all, name="state-looks") if self._redis else None
        self.on_unreachable: Callable[[], None] = lambda: None
        """Set by the engine: drop every cached entry."""

    @property
    def enabled(self) -> bool:
        return self._redis is not None

    def key(self, alias: str) -> str:
        return self._prefix + hashlib.sha256(alias.encode()).hexdigest()[:32]

    async def look(self, alias: str, claim: str | None) -> Look:
        """Claim the message id (if any) and read the alias's version: one round trip,
        shared with every other turn looking at the same time.

        A Redis error propagates when a message id was to be claimed (as the claim
        alone would); otherwise the turn goes on without a token (the database).
        """
        if self._looks is None:
            if claim is not None and not await self._claims.claim(claim):
                return Look(claimed=False, token=None, seen_complete=False)
            return LOCAL
        look = await self._looks((alias, claim))
        if isinstance(look, Exception):
            if claim is not None:
                raise look
            return Look(claimed=True, token=None, seen_complete=False)
        if not look.claimed:
            log.info("message id claimed by another delivery in flight")
        return look

    async def _look_all(self, turns: Sequence[tuple[str, str | None]]) -> list[Look | Exception]:
        """One script call for every turn waiting; a Redis error is each turn's result."""
        assert self._look is not None
        keys = [self._seen_since, self._fence]
        for alias, claim in turns:
            keys += ["" if claim is None else self._claims.key(claim), self.key(alias)]
        try:
            await self._repair()
            *each, fence, since = await self._look(
                keys=keys, args=[CLAIM_SECONDS, int(time.time())]
            )
        except self._errors as error:
            self._unreachable("look", error)
            return [error] * len(turns)
        fence, since = _text(fence), _text(since)
        repairing = self._owe_repair
        complete = since is not None and float(since) <= time.time() - self._seen_seconds
        outages = self._outages()
        looks: list[Look | Exception] = []
        for index in range(len(turns)):
            version = _text(each[2 * index + 1])
            token = None
            if version is not None and version.startswith("f") and not repairing:
                token = f"{version}|{fence or ''}|{outages}"
            claimed = bool(each[2 * index])
            looks.append(Look(claimed, token, seen_complete=complete and not repairing))
        return looks

    async def before_write(self, aliases: Sequence[str]) -> Write:
        """Mark these people's versions pending, before their new state is committed."""
        deadline = time.time() + WRITE_SECONDS
        stamp = f"p{int(deadline * 1000)}:"
        write = Write({alias: stamp + secrets.token_hex(6) for alias in aliases}, deadline=deadline)
        if self._redis is None or not aliases:
            return write
        assert self._mark is not None
        try:
            olds = await self._mark(
                keys=[self.key(alias) for alias in write.markers],
                args=[self._ttl, *write.markers.values()],
            )
        except self._errors as error:
            write.failed = True
            self._owe_repair = True  # committed without invalidating: repair before caching
            self._unreachable("before_write", error)
            return write
        now = time.time()
        for alias, old in zip(write.markers, olds, strict=True):
            waits = _live_deadline(_text(old), now)
            if waits is None:
                write.clean.add(alias)
            else:
                write.waits[alias] = waits
        return write

    async def after_write(self, write: Write, claims: Sequence[str] = ()) -> dict[str, str]:
        """Finalise the markers still ours; return the tokens to cache the written states with.

        ``claims`` (message ids saved in this commit) are kept for ``seen_seconds``, so
        a later redelivery is recognised without the database.
        """
        if self._redis is None:
            return dict.fromkeys(write.markers, "")
        if write.failed or self._finalise is None:
            return {}
        if time.time() > write.deadline:
            self._owe_repair = True  # committed after its marker lapsed: drop every cache
            log.warning("state write outlived its marker")
        keys = [
            self._fence,
            *(self.key(alias) for alias in write.markers),
            *(self._claims.key(claim) for claim in claims),
        ]
        tokens = {
            alias: (
                "f" + secrets.token_hex(8)
                if alias in write.clean
                else f"p{write.waits[alias]}:{secrets.token_hex(6)}"
            )
            for alias in write.markers
        }
        argv: list[str | int] = [self._ttl, len(write.markers), self._seen_seconds]
        for alias, marker in write.markers.items():
            argv += [marker, tokens[alias]]
        try:
            fence, *done = await self._finalise(keys=keys, args=argv)
        except self._errors as error:
            self._owe_repair = True  # markers stay pending; claims may lapse early
            self._unreachable("after_write", error)
            return {}
        if self._owe_repair:
            return {}
        return {
            alias: f"{tokens[alias]}|{_text(fence) or ''}|{self._outages()}"
            for alias, ok in zip(write.markers, done, strict=True)
            if ok and alias in write.clean
        }

    async def start(self, newest_seen_expiry: float | None) -> None:
        """Tell Redis since when it holds every message id, if it does not know yet."""
        if self._redis is None:
            return
        since = (newest_seen_expiry or time.time()) - self._seen_seconds
        try:
            await self._redis.call("SET", self._seen_since, int(since), "NX")
        except self._errors as error:
            self._unreachable("start", error)

    async def _repair(self) -> None:
        """After a write Redis did not see: drop every worker's cache, distrust seen ids."""
        if not self._owe_repair or self._redis is None:
            return
        await asyncio.gather(
            self._redis.call("SET", self._fence, secrets.token_hex(8)),
            self._redis.call("SET", self._seen_since, int(time.time())),
        )
        self._owe_repair = False
        metrics.STATE_CACHE_EVENTS.labels("repair").inc()
        log.info("state cache fence replaced after writes Redis did not see")

    def _unreachable(self, step: str, error: Exception) -> None:
        metrics.STATE_CACHE_EVENTS.labels("redis_error").inc()
        log.warning("state cache: Redis unreachable step=%s error=%s", step, type(error).__name__)
        self.on_unreachable()


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _live_deadline(value: str | None, now: float) -> int | None:
    """The deadline (ms) of a pending marker not yet past it; None for anything else."""
    if value is None or not value.startswith("p"):
        return None
    deadline, _, _ = value[1:].partition(":")
    if not deadline.isdigit() or int(deadline) < now * 1000:
        return None
    return int(deadline)
