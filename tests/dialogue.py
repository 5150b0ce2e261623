"""A person talking to the engine through a recording channel, for scripted dialogues."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence

from bot.helpline import Helpline
from bot.render import numbered
from bot.types import Channel, Reply, Turn

_message_ids = itertools.count(1)


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
