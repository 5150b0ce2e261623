"""Sending to Telegram within its limits, and wiping a chat.

Telegram allows about one message per second in a chat and thirty per second in all
(shared by every worker through Redis when it is configured: ``telegram_quota``);
it answers 429 with ``retry_after`` when a bot goes faster, and 403 when the person has
blocked the bot. Every reply is sent after the engine saved the person's place, so a
failure here costs at most that reply, never the conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.channels import telegram_ids
from bot.channels.telegram_quota import SharedQuota
from bot.delivery import DeliveryError
from bot.helpline import Helpline
from bot.types import Address, Button, Channel, Reply

log = logging.getLogger(__name__)
T = TypeVar("T")

# PTB 22 warns on every RetryAfter unless time periods are opted in as timedelta (its
# future default). The warning is raised while the 429 is being parsed, so opt in here;
# retry_after_seconds() reads either type.
os.environ.setdefault("PTB_TIMEDELTA", "true")

CALLBACK_DATA_LIMIT = 64
DELETE_BATCH = 100
ATTEMPTS = 4
LONGEST_RETRY_AFTER = 30.0
"""A flood wait longer than this is not waited out inside one delivery."""
BACKOFF_SECONDS = (0.5, 1.0, 2.0)


@dataclass(frozen=True, slots=True)
class SendLimits:
    per_chat: float = 1.0
    """Messages per second to one chat, after a short burst."""
    chat_burst: int = 3
    overall: float = 30.0
    overall_burst: int = 30


class RateLimiter:
    """Space out calls: a small burst, then the steady rate (per chat and overall).

    With a ``SharedQuota`` (Redis configured) the overall limit is the bot's, counted
    across every worker; the per-chat spacing stays in this process."""

    def __init__(
        self,
        limits: SendLimits,
        clock: Callable[[], float] = time.monotonic,
        *,
        shared: SharedQuota | None = None,
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._shared = shared
        self._chats: dict[int, float] = {}
        self._overall = 0.0

    async def wait(self, chat_id: int) -> None:
        """Wait until a message to ``chat_id`` may go, and take its slot."""
        limits = self._limits
        now = self._clock()
        chat_at = self._chats.get(chat_id, now)
        delay = self._reserve(chat_at, now, limits.per_chat, limits.chat_burst)
        self._chats[chat_id] = max(chat_at, now) + 1 / limits.per_chat
        self._forget_idle(now)
        if self._shared is not None:
            if delay > 0:
                await asyncio.sleep(delay)
            await self._shared.take()
            return
        overall_delay = self._reserve(
            self._overall, now + delay, limits.overall, limits.overall_burst
        )
        self._overall = max(self._overall, now + delay) + 1 / limits.overall
        if delay + overall_delay > 0:
            await asyncio.sleep(delay + overall_delay)

    @staticmethod
    def _reserve(next_at: float, now: float, rate: float, burst: int) -> float:
        # Generic cell rate: a slot is free when the backlog is within the burst allowance.
        allowance = (burst - 1) / rate
        return max(0.0, max(next_at, now) - now - allowance)

    def _forget_idle(self, now: float) -> None:
        if len(self._chats) > 1000:
            self._chats = {chat: at for chat, at in self._chats.items() if at > now}


class Blocked(Exception):
    """The person blocked the bot (403): nothing more goes to this chat now."""


class TelegramSender:
    """Deliver replies to chats; keep the ids so a person can wipe the chat later."""

    def __init__(
        self,
        bot: Bot,
        helpline: Helpline,
        limits: SendLimits,
        *,
        shared: SharedQuota | None = None,
    ) -> None:
        self.bot = bot
        self._helpline = helpline
        self._limiter = RateLimiter(limits, shared=shared)
        self.blocked = 0
        """How many deliveries stopped because a person had blocked the bot."""

    async def send(self, address: Address, replies: Sequence[Reply]) -> bool:
        """Send messages that go out later (advocate replies, queue news)."""
        chat_id = int(address.value)
        alias, _ = await self._helpline.engine.identify(Channel.TELEGRAM, address.value)
        return await self.deliver(chat_id, alias, replies, forget_label=None)

    async def deliver(
        self,
        chat_id: int,
        alias: str | None,
        replies: Sequence[Reply],
        *,
        forget_label: str | None,
    ) -> bool:
        """Send ``replies`` in order; return False if the person has blocked the bot."""
        sent: list[int] = []
        try:
            for reply in replies:
                if not reply.text:
                    continue
                markup = keyboard(reply.buttons, forget_label)
                message = await self.call(
                    chat_id,
                    partial(
                        self.bot.send_message, chat_id=chat_id, text=reply.text, reply_markup=markup
                    ),
                )
                sent.append(message.message_id)
        except Blocked:
            self.blocked += 1
            self._helpline.counts.add(
                day=self._helpline.clock().date(),
                channel=Channel.TELEGRAM,
                language="-",
                metric="blocked",
            )
            log.info("telegram chat has blocked the bot; stopped after sent=%d", len(sent))
            return False
        finally:
            if alias is not None and sent:
                await telegram_ids.remember(
                    self._helpline.sessions,
                    alias=alias,
                    message_ids=sent,
                    now=self._helpline.clock(),
                )
        return True

    async def typing(self, address: Address) -> None:
        """Show "typing…" in the person's chat while an advocate writes (Telegram's own action)."""
        chat_id = int(address.value)
        with contextlib.suppress(Blocked, DeliveryError):
            await self.call(
                chat_id, partial(self.bot.send_chat_action, chat_id=chat_id, action="typing")
            )

    async def wipe(self, chat_id: int, message_ids: Sequence[int]) -> int:
        """Delete these messages from both sides of the chat; return how many were asked."""
        ids = sorted(set(message_ids))
        asked = 0
        for start in range(0, len(ids), DELETE_BATCH):
            batch = ids[start : start + DELETE_BATCH]
            try:
                await self.call(
                    chat_id,
                    partial(self.bot.delete_messages, chat_id=chat_id, message_ids=batch),
                    paced=False,
                )
                asked += len(batch)
            except (Blocked, DeliveryError) as error:
                log.warning("telegram delete failed batch=%d reason=%s", len(batch), error)
        return asked

    async def call(
        self, chat_id: int, request: Callable[[], Awaitable[T]], *, paced: bool = True
    ) -> T:
        """Make one Bot API call within the limits, retrying 429 and network errors."""
        for attempt in range(ATTEMPTS):
            if paced:
                await self._limiter.wait(chat_id)
            try:
                return await request()
            except RetryAfter as error:
                delay = retry_after_seconds(error)
                if delay > LONGEST_RETRY_AFTER:
                    raise DeliveryError(f"flood wait of {delay:.0f}s") from None
                log.info("telegram asked to wait seconds=%.0f attempt=%d", delay, attempt + 1)
                await asyncio.sleep(delay)
            except Forbidden:
                raise Blocked from None
            except BadRequest as error:
                raise DeliveryError(f"refused ({type(error).__name__})") from None
            except NetworkError as error:
                if attempt + 1 == ATTEMPTS:
                    break
                log.info("telegram network error=%s attempt=%d", type(error).__name__, attempt + 1)
                await asyncio.sleep(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)])
            except TelegramError as error:
                raise DeliveryError(f"refused ({type(error).__name__})") from None
        raise DeliveryError(f"gave up after {ATTEMPTS} attempts")


def keyboard(buttons: Sequence[Button], forget_label: str | None) -> InlineKeyboardMarkup | None:
    """One button a row; menus also offer to forget the chat, which only Telegram can do."""
    rows = [
        [InlineKeyboardButton(button.label, callback_data=button.payload)]
        for button in buttons
        if len(button.payload.encode()) <= CALLBACK_DATA_LIMIT
    ]
    if len(rows) < len(buttons):
        log.warning("dropped buttons with callback data over %d bytes", CALLBACK_DATA_LIMIT)
    if not rows:
        return None
    if forget_label and all(button.payload != "forget" for button in buttons):
        rows.append([InlineKeyboardButton(forget_label, callback_data="forget")])
    return InlineKeyboardMarkup(rows)


def retry_after_seconds(error: RetryAfter) -> float:
    """Read ``retry_after`` as seconds whichever type this PTB release gives."""
    with warnings.catch_warnings():
        # PTB 22 announces that the attribute becomes a timedelta; both are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)
