"""What a person wrote in a live chat, held in memory until an advocate's page has it.

The worker that received the message holds it (never on disk, never in Redis keys) and
listens on the chat's relay topic, so acknowledgements and re-send requests from a page
on any worker reach it over pub/sub.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from bot.relay import (
    Ack,
    Closed,
    Left,
    Missed,
    PersonMessage,
    Relay,
    Replay,
    parse_event,
    ticket_topic,
)

HOLD_SECONDS = 90.0
"""How long what a person wrote is held in memory until an advocate's page has it."""
MISSED_ACK = "missed"
"""The id a page acknowledges a "messages were missed" notice with."""
MISSED_LINGER_SECONDS = 30 * 60.0
"""How long a worker keeps saying "messages were missed" for a page that has not come back."""


class HeldMessages:
    """What one person wrote in one chat, held in this worker's memory until a page has it.

    It listens on the chat's topic: an ``ack`` lets a message go, a ``replay`` (a page
    reopened the chat) sends what is held again, and a message held longer than the
    ``hold_seconds`` is given up on: the person is told at once, and the
    advocate's page is told then and again whenever it (re)opens the chat, until it
    acknowledges the notice.
    """

    def __init__(
        self,
        relay: Relay,
        ticket_id: int,
        *,
        hold_seconds: float,
        on_missed: Callable[[int, int, int], Awaitable[None]],
    ) -> None:
        self._relay = relay
        self._hold_seconds = hold_seconds
        self._on_missed = on_missed
        self._ticket_id = ticket_id
        self._held: dict[str, tuple[float, PersonMessage]] = {}
        self._missed = 0
        self._missed_until = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def done(self) -> bool:
        return self._task is None or self._task.done()

    @property
    def count(self) -> int:
        return len(self._held)

    async def start(self) -> None:
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._run(ready), name="held-messages")
        await ready.wait()

    def hold(self, message: PersonMessage) -> None:
        deadline = asyncio.get_running_loop().time() + self._hold_seconds
        self._held[message.id] = (deadline, message)

    async def _run(self, ready: asyncio.Event) -> None:
        relay = self._relay
        topic = ticket_topic(self._ticket_id)
        loop = asyncio.get_running_loop()
        try:
            async with relay.subscribe(topic) as events:
                ready.set()
                await asyncio.sleep(0)  # the first message is held right after start()
                while self._held or (self._missed and loop.time() < self._missed_until):
                    deadlines = [deadline for deadline, _ in self._held.values()]
                    due = min(deadlines) if deadlines else self._missed_until
                    try:
                        async with asyncio.timeout(max(0.0, due - loop.time())):
                            event = parse_event(await events.get())
                    except TimeoutError:
                        await self._give_up(loop.time())
                        continue
                    if isinstance(event, Ack):
                        self._held.pop(event.id, None)
                        if event.id == MISSED_ACK:
                            self._missed = 0
                    elif isinstance(event, Replay):
                        for _, message in list(self._held.values()):
                            await relay.publish(topic, message.event())
                        if self._missed:
                            await relay.publish(topic, Missed(count=self._missed).event())
                    elif isinstance(event, Closed | Left):
                        return
        finally:
            ready.set()
            self._held.clear()

    async def _give_up(self, now: float) -> None:
        late = [key for key, (deadline, _) in self._held.items() if deadline <= now]
        for key in late:
            del self._held[key]
        if late:
            self._missed += len(late)
            self._missed_until = now + MISSED_LINGER_SECONDS
            with contextlib.suppress(Exception):
                await self._on_missed(self._ticket_id, len(late), self._missed)
