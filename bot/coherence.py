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
- ``…:people-since``: the unix time since which every person saved has had a version
  key (every write marks one, ``before_write`` or the look, and it lives as long as
  the person-retention window). Set once absent, by the first look (now), or at start
  by the worker that gives everyone in the database a version (``start``), which then
  moves it a window back. A repair sets it to now.

The protocol, per turn:

1. ``look``: one round trip, one script with the message-id claim (``SET NX``), then
   the version, ``fence`` and ``seen-since``; every turn looking at once shares it. A
   cached entry is used only if the version is final and both tokens equal the ones
   stored with the entry. A pending or missing version means: read the database, and
   do not cache what was read.
2. In the same script, for a turn that claimed its message (every such turn writes at
   least ``last_seen``): ``SET ver p<deadline>:<random> GET``, the version read in
   step 1 being the value it replaces. From now on no worker trusts an entry for this
   person, and no one caches a read (pending). The old value tells whether another
   write was still in flight (a live pending marker). A write that was not marked at
   its look (the opt-out, a previous alias carried over) is marked by ``before_write``,
   one script call for all its people, before its commit.
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
  person until the deadline, then the next write restores a final token. So does a
  turn that marked and then wrote nothing (someone who opted out, a failed turn).
- Tokens are random, never counters: a restarted Redis, an expired key or an evicted
  one yields "missing" (no cache), never an old value again.
- Entries for ticket holders are never served (tickets change outside turns, in the
  queue); the queue only ever changes people who hold a ticket.

Someone new without a read. Half of a burst's messages are first messages; each one
cost a read that found nobody. A look that finds no version for the person (nor for
their previous alias) while ``people-since`` is a window old (every person saved since
then has a version), with no repair owed and a Redis that never evicts (``maxmemory``
0 or ``noeviction``, asked at start; a server that may evict or forbids ``CONFIG`` is
never believed), marks the turn ``absent``: the engine takes the person for new without
reading. It is a guess, because Redis can lose a key the database still has (an
operator deleting keys, a fail-over to a replica that missed the last writes), and a
wrong guess must never cost anyone their saved state or their opt-out. So the commit
confirms it: a guessed person is inserted only where nobody is saved under the alias
(``StateWriter``, ``ON CONFLICT DO NOTHING``), with their message id saved only if the
insert happened; otherwise nothing of the turn was written or sent, its marker stays
pending, and the turn runs again on a read of the saved state. A guessed turn that
needs more than a plain save (it opened a database session, for a ticket or the
directory, or ends the session) runs again on a read before anything is written.

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

import hashlib
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot import metrics
from bot.batches import Batches
from bot.dedup import CLAIM_SECONDS, DeliveryClaims

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

WRITE_SECONDS = 60
"""How long a pending marker holds: far longer than any commit may take."""

# KEYS: seen-since, fence, people-since, then per turn its claim key (or ""), its
# version key and its previous alias's version key (or ""); ARGV: claim seconds, now,
# version ttl, then per turn its pending marker (or "": no write follows). Returns per
# turn 1 if its message id was claimed here (or none was to be claimed), its version as
# it was and the previous alias's version; a turn that claimed its message and writes
# leaves its marker in place of its version. Then the fence, seen-since and
# people-since. One command for every turn waiting (``bot/batches.py``): a pipeline of
# three commands for each turn cost a worker 152 µs against 99 for one script call
# (2026-11-30).
_LOOK = """
local out = {}
local claims = false
for i = 4, #KEYS, 3 do
  local claimed = 1
  if KEYS[i] ~= '' then
    claimed = redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) and 1 or 0
    claims = true
  end
  out[#out + 1] = claimed
  local marker = ARGV[(i + 8) / 3]
  if claimed == 1 and marker ~= '' then
    out[#out + 1] = redis.call('SET', KEYS[i + 1], marker, 'EX', ARGV[3], 'GET')
  else
    out[#out + 1] = redis.call('GET', KEYS[i + 1])
  end
  if KEYS[i + 2] ~= '' then
    out[#out + 1] = redis.call('GET', KEYS[i + 2])
  else
    out[#out + 1] = false
  end
end
if claims then
  redis.call('SET', KEYS[1], ARGV[2], 'NX')
end
redis.call('SET', KEYS[3], ARGV[2], 'NX')
out[#out + 1] = redis.call('GET', KEYS[2])
out[#out + 1] = redis.call('GET', KEYS[1])
out[#out + 1] = redis.call('GET', KEYS[3])
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
# KEYS: people-since; ARGV: the value the filling worker set, the value to set now.
_FILLED = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
end
return 0
"""
# Scripts are called on their own, never inside a pipeline: redis-py asks Redis whether
# a pipeline's scripts are loaded (SCRIPT EXISTS) before every execution, a round trip.


People = Callable[[], AsyncIterator[Sequence[tuple[str, float]]]]
"""Everyone saved within the person window, in chunks: (alias, last seen as unix time)."""


@dataclass(frozen=True, slots=True)
class _Turn:
    alias: str
    claim: str | None
    previous: str | None
    writing: bool


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

    @classmethod
    def joined(cls, writes: Iterable[Write]) -> Write:
        """One write for several turns' markers, finalised in one round trip.

        A failed write brings no marker (its worker already owes a repair); the joined
        write lapses with the earliest deadline among them.
        """
        joined = cls({}, deadline=math.inf)
        for write in writes:
            if write.failed:
                continue
            joined.markers.update(write.markers)
            joined.clean.update(write.clean)
            joined.waits.update(write.waits)
            joined.deadline = min(joined.deadline, write.deadline)
        return joined


@dataclass(frozen=True, slots=True)
class Look:
    """What Redis said at the start of a turn."""

    claimed: bool
    """This worker answers the message (no other delivery holds its id)."""
    token: str | None
    """The version a cached entry must carry to be used; None: ask the database."""
    seen_complete: bool
    """Redis holds every message id handled within ``SEEN_ID_TTL``: no database check."""
    write: Write = field(default_factory=lambda: Write({}))
    """The pending marker this turn set for its person, finalised once the turn's state
    is committed (no marker: the message was not claimed, or no write follows)."""
    absent: bool = False
    """Redis holds no version for this person (nor their previous alias) and holds one
    for everyone saved within the person window: most likely someone new. A guess the
    commit confirms (``StateWriter``): it never overwrites a saved person."""


class Versions:
    """Per-alias versions in Redis; without Redis every look is "" (one process)."""

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
        self._redis: Redis | None = claims.redis
        self._errors: tuple[type[Exception], ...] = (OSError,)
        if self._redis is not None:
            # Imported only with Redis configured: a lone worker never loads redis-py.
            from redis.exceptions import RedisError

            self._errors = (RedisError, OSError)
        self._prefix = f"{namespace}:ver:"
        self._fence = f"{namespace}:fence"
        self._seen_since = f"{namespace}:seen-since"
        self._people_since = f"{namespace}:people-since"
        self._keeps_every_key = False
        """Redis never evicts: a missing version means nobody was saved (``start``)."""
        self._ttl = keep_for_seconds
        self._seen_seconds = seen_seconds
        self._outages = outages
        self._owe_repair = False
        self._finalise = self._redis.register_script(_FINALISE) if self._redis else None
        self._mark = self._redis.register_script(_MARK) if self._redis else None
        self._look = self._redis.register_script(_LOOK) if self._redis else None
        self._fill_since = self._redis.register_script(_FILLED) if self._redis else None
        self._looks = Batches(self._look_all, name="state-looks") if self._redis else None
        self.on_unreachable: Callable[[], None] = lambda: None
        """Set by the engine: drop every cached entry."""

    @property
    def enabled(self) -> bool:
        return self._redis is not None

    def key(self, alias: str) -> str:
        return self._prefix + hashlib.sha256(alias.encode()).hexdigest()[:32]

    async def look(
        self,
        alias: str,
        claim: str | None,
        *,
        previous: str | None = None,
        writing: bool = True,
    ) -> Look:
        """Claim the message id (if any), read the alias's version (and the previous
        alias's) and, for a turn that will write, mark it pending: one round trip,
        shared with every other turn looking at the same time.

        A Redis error propagates when a message id was to be claimed (as the claim
        alone would); otherwise the turn goes on without a token (the database).
        """
        if self._looks is None:
            if claim is not None and not await self._claims.claim(claim):
                return Look(claimed=False, token=None, seen_complete=False)
            # One process: the cache is authoritative, every entry carries "".
            return Look(True, "", seen_complete=False, write=Write({alias: ""} if writing else {}))
        look = await self._looks(_Turn(alias, claim, previous, writing))
        if isinstance(look, Exception):
            if claim is not None:
                raise look
            return Look(True, None, seen_complete=False, write=Write({}, failed=writing))
        if not look.claimed:
            log.info("message id claimed by another delivery in flight")
        return look

    async def _look_all(self, turns: Sequence[_Turn]) -> list[Look | Exception]:
        """One script call for every turn waiting; a Redis error is each turn's result."""
        assert self._look is not None
        deadline = time.time() + WRITE_SECONDS
        stamp = f"p{int(deadline * 1000)}:"
        keys = [self._seen_since, self._fence, self._people_since]
        markers: list[str] = []
        for turn in turns:
            keys += [
                "" if turn.claim is None else self._claims.key(turn.claim),
                self.key(turn.alias),
                "" if turn.previous is None else self.key(turn.previous),
            ]
            markers.append(stamp + secrets.token_hex(6) if turn.writing else "")
        try:
            await self._repair()
            *each, fence, since, people_since = await self._look(
                keys=keys, args=[CLAIM_SECONDS, int(time.time()), self._ttl, *markers]
            )
        except self._errors as error:
            if any(turn.writing for turn in turns):
                self._owe_repair = True  # their writes commit unmarked: repair before caching
            self._unreachable("look", error)
            return [error] * len(turns)
        fence, since, people_since = _text(fence), _text(since), _text(people_since)
        repairing = self._owe_repair
        now = time.time()
        complete = since is not None and float(since) <= now - self._seen_seconds
        everyone = (
            self._keeps_every_key
            and not repairing
            and people_since is not None
            and float(people_since) <= now - self._ttl
        )
        outages = self._outages()
        looks: list[Look | Exception] = []
        for index, turn in enumerate(turns):
            claimed, version, previous = each[3 * index : 3 * index + 3]
            version = _text(version)
            token = None
            if version is not None and version.startswith("f") and not repairing:
                token = f"{version}|{fence or ''}|{outages}"
            write = Write({}, deadline=deadline)
            if claimed and markers[index]:
                write.markers[turn.alias] = markers[index]
                _note_in_flight(write, turn.alias, version, now)
            absent = everyone and version is None and not previous
            looks.append(Look(bool(claimed), token, complete and not repairing, write, absent))
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
            _note_in_flight(write, alias, _text(old), now)
        return write

    async def after_write(self, write: Write, claims: Sequence[str] = ()) -> dict[str, str]:
        """Finalise the markers still ours; return the tokens to cache the written states with.

        ``claims`` (message ids saved in this commit) are kept for ``seen_seconds``, so
        a later redelivery is recognised without the database.
        """
        if self._redis is None:
            return dict.fromkeys(write.markers, "")
        if write.failed or self._finalise is None or not (write.markers or claims):
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

    async def start(self, newest_seen_expiry: float | None, people: People) -> None:
        """Tell Redis since when it holds every message id, if it does not know yet, and
        give everyone saved a version if Redis holds none (``people``: each alias saved
        within the person window and when it was last seen, as unix time).
        """
        if self._redis is None:
            return
        since = (newest_seen_expiry or time.time()) - self._seen_seconds
        try:
            await self._redis.set(self._seen_since, int(since), nx=True)
            self._keeps_every_key = await self._never_evicts()
            await self._fill(people)
        except self._errors as error:
            self._unreachable("start", error)

    async def _never_evicts(self) -> bool:
        """True if Redis never drops a key before it expires (``noeviction`` or no
        memory limit). A server that may evict makes absence prove nothing."""
        assert self._redis is not None
        try:
            reply = await self._redis.config_get("maxmemory*")
        except self._errors:
            reply = {}  # CONFIG may be forbidden (managed Redis): assume it evicts
        config = {_text(name): _text(value) for name, value in reply.items()}
        never = config.get("maxmemory-policy") == "noeviction" or config.get("maxmemory") == "0"
        if not never:
            log.warning("state cache: Redis may evict keys; every newcomer costs a read")
        return never

    async def _fill(self, people: People) -> None:
        """When Redis knows nobody (new, restarted, flushed): a version for everyone saved.

        Whoever sets ``people-since`` first fills; until it has finished, the value is
        now, so no worker takes anyone for new. Keys are set only where none is, so a
        write's marker is never replaced; ``people-since`` moves back a whole window
        only if nothing (a repair) changed it meanwhile.
        """
        assert self._redis is not None and self._fill_since is not None
        began = int(time.time())
        if not await self._redis.set(self._people_since, began, nx=True):
            return
        filled = 0
        async for chunk in people():
            pipe = self._redis.pipeline(transaction=False)
            for alias, last_seen in chunk:
                left = int(last_seen + self._ttl - began) + 1
                if left > 0:
                    pipe.set(self.key(alias), "f" + secrets.token_hex(8), ex=left, nx=True)
                    filled += 1
            await pipe.execute()
        await self._fill_since(keys=[self._people_since], args=[began, began - self._ttl])
        log.info("state cache: versions given to people saved count=%s", filled)

    async def _repair(self) -> None:
        """After a write Redis did not see: drop every worker's cache, distrust seen ids."""
        if not self._owe_repair or self._redis is None:
            return
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self._fence, secrets.token_hex(8))
        pipe.set(self._seen_since, int(time.time()))
        pipe.set(self._people_since, int(time.time()))
        await pipe.execute()
        self._owe_repair = False
        metrics.STATE_CACHE_EVENTS.labels("repair").inc()
        log.info("state cache fence replaced after writes Redis did not see")

    def _unreachable(self, step: str, error: Exception) -> None:
        metrics.STATE_CACHE_EVENTS.labels("redis_error").inc()
        log.warning("state cache: Redis unreachable step=%s error=%s", step, type(error).__name__)
        self.on_unreachable()


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _note_in_flight(write: Write, alias: str, before: str | None, now: float) -> None:
    """Record whether another write for ``alias`` was in flight as this one's marker went in."""
    waits = _live_deadline(before, now)
    if waits is None:
        write.clean.add(alias)
    else:
        write.waits[alias] = waits


def _live_deadline(value: str | None, now: float) -> int | None:
    """The deadline (ms) of a pending marker not yet past it; None for anything else."""
    if value is None or not value.startswith("p"):
        return None
    deadline, _, _ = value[1:].partition(":")
    if not deadline.isdigit() or int(deadline) < now * 1000:
        return None
    return int(deadline)
