"""Answer one Telegram update: the engine decides, this module only carries it out.

The engine saves the person's place before anything is sent. Sending then happens in
the background, one job after another per chat, so the webhook answers at once and a
slow or refused delivery never holds up anyone else or loses the person's place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from telegram import Update

from bot.channels import telegram_ids
from bot.channels.telegram_sender import Blocked, TelegramSender
from bot.channels.telegram_updates import Incoming, Kind, read
from bot.delivery import DeliveryError
from bot.helpline import Helpline
from bot.i18n import Catalogue, catalogue, language_for_telegram
from bot.types import Address, Channel, Inbound, Reply, Turn

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]
SETTLE_SECONDS = 5.0


class InOrder:
    """Run background jobs one after another for each chat, concurrently across chats."""

    def __init__(self) -> None:
        self._tails: dict[int, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def run(self, chat_id: int, job: Job) -> None:
        previous = self._tails.get(chat_id)
        task = asyncio.create_task(self._after(previous, job))
        self._tails[chat_id] = task
        self._tasks.add(task)
        task.add_done_callback(partial(self._done, chat_id))

    async def settled(self, chat_id: int, seconds: float) -> None:
        """Wait (up to ``seconds``) until this chat's earlier jobs are done."""
        tail = self._tails.get(chat_id)
        if tail is not None:
            await asyncio.wait({tail}, timeout=seconds)

    async def drain(self, seconds: float) -> None:
        """Let jobs in flight finish (up to ``seconds``), then cancel the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=seconds)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @staticmethod
    async def _after(previous: asyncio.Task[None] | None, job: Job) -> None:
        if previous is not None:
            await asyncio.wait({previous})
        try:
            await job()
        except (DeliveryError, Blocked) as error:
            log.warning("telegram delivery failed: %s", error)
        except Exception as error:
            log.warning("telegram job failed: %s", type(error).__name__)

    def _done(self, chat_id: int, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._tails.get(chat_id) is task:
            del self._tails[chat_id]


class UpdateHandler:
    def __init__(self, helpline: Helpline, sender: TelegramSender) -> None:
        self._helpline = helpline
        self._sender = sender
        self.jobs = InOrder()

    async def handle(self, update: Update) -> None:
        """Answer one update; raise only if the person's message could not be taken in."""
        incoming = read(update)
        if incoming.kind in (Kind.TEXT, Kind.MEDIA):
            await self._converse(incoming)
        elif incoming.kind == Kind.CONTACT:
            await self._decline(incoming, "telegram.contact_not_kept")
        elif incoming.kind == Kind.NOT_PRIVATE:
            await self._refuse(incoming)
        elif incoming.callback_id is not None:
            self.jobs.run(incoming.chat_id, partial(self._answer_button, incoming.callback_id))

    async def _converse(self, incoming: Incoming) -> None:
        """Let the engine answer; wipe the chat first when the person asked to forget it."""
        helpline = self._helpline
        alias, previous = await helpline.engine.identify(Channel.TELEGRAM, str(incoming.chat_id))
        aliases = [name for name in (alias, previous) if name]
        await self._remember_person(incoming, alias)
        # The engine erases the kept ids when it forgets someone: read them first, once
        # the replies still being sent to this chat have had their ids kept.
        await self.jobs.settled(incoming.chat_id, SETTLE_SECONDS)
        earlier = await telegram_ids.recent(
            helpline.sessions, aliases=aliases, now=helpline.clock()
        )
        turn = await helpline.engine.handle(self._inbound(incoming, alias, previous))
        if turn.duplicate:
            return
        wipe = incoming.forget or turn.forget_chat or turn.end_session
        words = await helpline.engine.language_of(alias, incoming.language_code)
        self.jobs.run(
            incoming.chat_id,
            partial(self._answer, incoming, alias, aliases, turn, earlier if wipe else None, words),
        )

    async def _answer(
        self,
        incoming: Incoming,
        alias: str,
        aliases: Sequence[str],
        turn: Turn,
        wipe: Sequence[int] | None,
        words: Catalogue,
    ) -> None:
        if incoming.callback_id is not None:
            await self._answer_button(incoming.callback_id)
        if wipe is not None:
            helpline = self._helpline
            # Ids kept since the engine's turn (replies still being sent then) count too.
            later = await telegram_ids.recent(
                helpline.sessions, aliases=aliases, now=helpline.clock()
            )
            asked = await self._sender.wipe(incoming.chat_id, [*wipe, *later])
            await telegram_ids.drop(helpline.sessions, aliases=aliases)
            log.info("telegram chat wiped messages=%d", asked)
        await self._sender.deliver(
            incoming.chat_id, alias, turn.replies, forget_label=words.text("option.forget")
        )

    async def _decline(self, incoming: Incoming, key: str) -> None:
        """Say that a shared contact is not read or kept."""
        helpline = self._helpline
        if not await self._claim(incoming):
            return
        alias, _ = await helpline.engine.identify(Channel.TELEGRAM, str(incoming.chat_id))
        await self._remember_person(incoming, alias)
        words = await helpline.engine.language_of(alias, incoming.language_code)
        reply = Reply(text=words.text(key), direction=words.language.direction)
        self.jobs.run(
            incoming.chat_id,
            partial(self._sender.deliver, incoming.chat_id, alias, [reply], forget_label=None),
        )

    async def _refuse(self, incoming: Incoming) -> None:
        """Say the help line works only in private chats, then leave the group or channel."""
        if not await self._claim(incoming):
            return
        words = catalogue(language_for_telegram(incoming.language_code) or "en")
        reply = Reply(text=words.text("telegram.private_only"), direction=words.language.direction)
        self.jobs.run(incoming.chat_id, partial(self._refuse_and_leave, incoming, reply))
        log.info("telegram update from a non-private chat: refused and leaving")

    async def _refuse_and_leave(self, incoming: Incoming, reply: Reply) -> None:
        if incoming.callback_id is not None:
            await self._answer_button(incoming.callback_id)
        try:
            await self._sender.deliver(incoming.chat_id, None, [reply], forget_label=None)
        finally:
            await self._sender.call(
                incoming.chat_id,
                partial(self._sender.bot.leave_chat, chat_id=incoming.chat_id),
                paced=False,
            )

    async def _answer_button(self, callback_id: str) -> None:
        """Stop the button's spinner; Telegram expects every button press answered."""
        try:
            await self._sender.call(
                0, partial(self._sender.bot.answer_callback_query, callback_id), paced=False
            )
        except (DeliveryError, Blocked) as error:
            log.info("telegram callback answer failed: %s", error)

    async def _claim(self, incoming: Incoming) -> bool:
        helpline = self._helpline
        return await telegram_ids.claim_update(
            helpline.sessions, update_id=incoming.update_id, now=helpline.clock()
        )

    async def _remember_person(self, incoming: Incoming, alias: str) -> None:
        if incoming.message_id is not None:
            await telegram_ids.remember(
                self._helpline.sessions,
                alias=alias,
                message_ids=[incoming.message_id],
                now=self._helpline.clock(),
            )

    @staticmethod
    def _inbound(incoming: Incoming, alias: str, previous: str | None) -> Inbound:
        return Inbound(
            channel=Channel.TELEGRAM,
            alias=alias,
            previous_alias=previous,
            text=incoming.text,
            address=Address(Channel.TELEGRAM, str(incoming.chat_id)),
            choice=incoming.choice,
            language_hint=incoming.language_code,
            has_media=incoming.kind == Kind.MEDIA,
            message_id=telegram_ids.update_message_id(incoming.update_id),
        )
