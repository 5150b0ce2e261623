"""Live chats first: a burst of menu traffic never keeps a live conversation waiting.

During a campaign's burst one worker is saturated by menu webhooks. Profiling the
relay hop under that load showed the event loop itself stayed responsive (a
``sleep(0)`` round ≈ 1 ms) but each database round trip of the live person's turn
took 50–200 ms: the busy loop thread and the group-commit thread kept the GIL, so the
database driver's thread waited for it on every step. A person in a live chat waited
0.3–2.5 s for their words to reach the advocate.

So each worker schedules webhooks in two classes:

- **live**: the sender holds a ticket an advocate has claimed (``LiveChats``), or an
  advocate's message is on its way to a person. These start at once, and while one is
  in flight no further menu turn starts, so the loop drains and the live turn's
  database steps run without waiting;
- **menu**: everything else on the SMS webhook. At most ``menu_limit`` run at a time;
  the others wait, in arrival order, before any work is done for them, and a menu turn
  holds back for live work at most ``LIVE_FIRST_SECONDS``. None is dropped:
  each is answered when its turn comes (the webhook deadline in ``bot.webhook_lane`` still
  applies, and a 503 there makes the carrier deliver again).

Deciding the class costs one search of the body for the sender (the channel's
``WebhookRoute.sender``, applied by ``bot.webhook_lane``) and the alias hash, with no
database read: each worker keeps the aliases of live chats in memory and
reloads them when the queue announces a change (claims, transfers and closes are
announced over the relay, so every worker hears them). A forged webhook can claim
the live class only with a live person's number, and is still refused at the
signature check; a stale answer only changes who goes first, never what is said.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Protocol

from sqlmodel import col, select

from bot.db import SessionFactory
from bot.models import Ticket
from bot.relay import QUEUE_TOPIC, Relay
from bot.states import TicketStatus
from bot.types import Address, Channel

log = logging.getLogger(__name__)

MENU_CONCURRENCY = 16
"""Menu turns in flight per worker: enough to keep one core and the group commit busy,
few enough that a live turn waits only for these to finish (HELPLINE_MENU_CONCURRENCY)."""
LIVE_FIRST_SECONDS = 0.5
"""The longest a menu turn holds back for live work: a stream of live chats delays menu
traffic, it never starves it."""
RELOAD_SECONDS = 0.25
"""The live set is reloaded at most this often, however many queue changes arrive."""


class Priority:
    """Live work goes first; menu work runs a bounded number at a time, never during live."""

    def __init__(self, *, menu_limit: int = MENU_CONCURRENCY) -> None:
        if menu_limit < 1:
            raise ValueError("menu_limit must be at least 1")
        self._menu = asyncio.Semaphore(menu_limit)
        self._live = 0
        self._no_live = asyncio.Event()
        self._no_live.set()

    @contextlib.asynccontextmanager
    async def live(self) -> AsyncIterator[None]:
        """Run live work now; menu work waits to start until it is done."""
        self._live += 1
        self._no_live.clear()
        try:
            yield
        finally:
            self._live -= 1
            if self._live == 0:
                self._no_live.set()

    @contextlib.asynccontextmanager
    async def menu(self) -> AsyncIterator[None]:
        """Wait for a menu slot and for no live work in flight (within limits), then run."""
        async with self._menu:
            if self._live:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LIVE_FIRST_SECONDS):
                        while self._live:
                            await self._no_live.wait()
            yield


class LiveChats:
    """The aliases of people whose ticket an advocate holds, as this worker last read them."""

    def __init__(self, sessions: SessionFactory, relay: Relay) -> None:
        self._sessions = sessions
        self._relay = relay
        self._aliases: frozenset[str] = frozenset()
        self._task: asyncio.Task[None] | None = None

    @property
    def any(self) -> bool:
        """Whether anyone is in a live chat: if not, no sender's alias need be worked out."""
        return bool(self._aliases)

    def holds(self, *aliases: str | None) -> bool:
        return any(alias in self._aliases for alias in aliases if alias is not None)

    async def start(self) -> None:
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._follow(ready), name="live-chats")
        await ready.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def reload(self) -> None:
        async with self._sessions() as session:
            rows = await session.exec(
                select(Ticket.contact_alias).where(col(Ticket.status) == TicketStatus.ACTIVE)
            )
            self._aliases = frozenset(alias for alias in rows.all() if alias)

    async def _follow(self, ready: asyncio.Event) -> None:
        """Reload on every queue change (coalesced); keep going through outages."""
        while True:
            try:
                async with self._relay.subscribe(QUEUE_TOPIC) as changes:
                    await self.reload()
                    ready.set()
                    while True:
                        await changes.get()
                        await asyncio.sleep(RELOAD_SECONDS)  # let a burst of news gather
                        while not changes.empty():
                            await changes.get()
                        await self.reload()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Without the set every turn is menu traffic: slower for a live chat, never wrong.
                log.warning("live chat list unavailable error=%s", type(error).__name__)
                ready.set()
                await asyncio.sleep(1.0)


class Identify(Protocol):
    """What the gate needs of the engine: the aliases of a channel's user id."""

    async def identify(self, channel: Channel, user_id: str) -> tuple[str, str | None]: ...


class LiveFirst:
    """Runs a webhook in its class: live if its sender holds a live chat, else menu."""

    def __init__(self, priority: Priority, live: LiveChats, engine: Identify) -> None:
        self._priority = priority
        self._live = live
        self._engine = engine

    @contextlib.asynccontextmanager
    async def turn(self, sender: Address | None) -> AsyncIterator[None]:
        """Wait for this webhook's turn (``sender`` None: menu traffic), then run it."""
        if (
            sender is not None
            and self._live.any
            and self._live.holds(*await self._engine.identify(sender.channel, sender.value))
        ):
            async with self._priority.live():
                yield
            return
        async with self._priority.menu():
            yield
