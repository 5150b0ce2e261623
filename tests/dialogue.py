"""A person talking to the engine through a recording channel, for scripted dialogues.

Everything the bot says lands in one inbox per person, as on a phone: the replies to
their own messages and anything sent later (queue news, an advocate, a closing
message). A recording sender is registered for the person's channel, so "nothing was
sent" is checked where a message would arrive (errbot's TestBot.pop_message).
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence

from bot.accounts import TOTP_PURPOSE, add_advocate
from bot.helpline import Helpline
from bot.render import numbered
from bot.types import Address, Channel, Reply, Turn

_message_ids = itertools.count(1)


class Inbox:
    """A recording sender: what the help line sends later, by the address it went to."""

    def __init__(self) -> None:
        self.sent: dict[str, list[Reply]] = {}

    async def send(self, address: Address, replies: Sequence[Reply]) -> bool:
        self.sent.setdefault(address.value, []).extend(replies)
        return True


def inbox_of(helpline: Helpline, channel: Channel) -> Inbox | None:
    """The recording inbox for ``channel``; None when a real channel's sender is there."""
    name = f"test_inbox_{channel}"
    inbox: Inbox | None = getattr(helpline.senders, name, None)
    if inbox is None and not helpline.senders.has(channel):
        inbox = Inbox()
        setattr(helpline.senders, name, inbox)
        helpline.senders.register(channel, inbox)
    return inbox


class Person:
    """Sends messages as one person and keeps what the bot answered, as a phone would."""

    def __init__(
        self,
        helpline: Helpline,
        *,
        channel: Channel = Channel.SIMULATOR,
        user_id: str | None = None,
        country: str | None = None,
        language_code: str | None = None,
    ) -> None:
        self.helpline = helpline
        self.channel = channel
        self.user_id = user_id or secrets.token_hex(8)
        self.country = country
        self.language_code = language_code
        self.turns: list[Turn] = []
        self._inbox = inbox_of(helpline, channel)
        self._popped = 0

    @property
    def pushed(self) -> list[str]:
        """Messages the help line sent later, outside a reply (as the SMS user reads them)."""
        if self._inbox is None:
            return []
        return [numbered(reply) for reply in self._inbox.sent.get(self.user_id, [])]

    def pop_pushed(self) -> list[str]:
        """The messages sent later since the last pop."""
        fresh = self.pushed[self._popped :]
        self._popped += len(fresh)
        return fresh

    async def send(
        self, text: str = "", *, choice: str | None = None, message_id: str | None = None
    ) -> list[str]:
        """Send ``text`` (or press a button); return the replies as the SMS user would read them."""
        turn = await self.turn(text, choice=choice, message_id=message_id)
        return [numbered(reply) for reply in turn.replies]

    async def turn(
        self, text: str = "", *, choice: str | None = None, message_id: str | None = None
    ) -> Turn:
        turn = await self.helpline.engine.receive(
            self.channel,
            self.user_id,
            text,
            choice=choice,
            language_hint=self.language_code,
            country_hint=self.country,
            message_id=message_id or f"m{next(_message_ids)}",
        )
        self.turns.append(turn)
        return turn

    @property
    def last(self) -> Sequence[Reply]:
        return self.turns[-1].replies if self.turns else ()

    async def alias(self) -> str:
        return (await self.helpline.engine.identify(self.channel, self.user_id))[0]


async def first_waiting_claimed(helpline: Helpline, name: str = "ana") -> int:
    """An advocate signs up and claims the first person in line; returns the ticket id."""
    advocate, _ = await add_advocate(
        helpline.sessions, helpline.sealer(TOTP_PURPOSE), name=name, password="a-long-password-1"
    )
    assert advocate.id is not None
    entries = await helpline.queue.entries()
    await helpline.queue.claim(ticket_id=entries[0].id, advocate_id=advocate.id)
    return entries[0].id
