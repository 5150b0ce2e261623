"""The Telegram message ids of a chat: the one thing kept so a person can wipe their chat.

Telegram lets a bot delete both sides of a private chat for 48 hours, and only by
message id. So the ids (never the messages) are kept under the person's alias, for 48
hours at most. Update ids already handled are claimed here too, so a redelivered
update that the engine never sees (a photo, a group message) is answered only once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select

from bot.db import SessionFactory, transaction
from bot.engine import SEEN_ID_TTL
from bot.models import ChatMessageId, SeenMessage
from bot.types import Channel

DELETE_WINDOW = dt.timedelta(hours=48)
"""Telegram refuses to delete messages older than this; ids are kept no longer."""


async def remember(
    sessions: SessionFactory, *, alias: str, message_ids: Iterable[int], now: dt.datetime
) -> None:
    """Keep message ids of this person's chat so that a later forget can delete them."""
    wanted = sorted(set(message_ids))
    if not wanted:
        return
    try:
        async with transaction(sessions) as session:
            existing = await session.exec(
                select(ChatMessageId.message_id).where(
                    ChatMessageId.alias == alias, col(ChatMessageId.message_id).in_(wanted)
                )
            )
            known = set(existing.all())
            for message_id in wanted:
                if message_id not in known:
                    session.add(ChatMessageId(alias=alias, message_id=message_id, sent_at=now))
    except IntegrityError:
        # The same redelivered update recorded these ids a moment ago: they are kept.
        return


async def recent(
    sessions: SessionFactory, *, aliases: Sequence[str], now: dt.datetime
) -> list[int]:
    """Return the ids of these aliases' chat that Telegram still lets the bot delete."""
    async with sessions() as session:
        rows = await session.exec(
            select(ChatMessageId.message_id).where(
                col(ChatMessageId.alias).in_(aliases),
                col(ChatMessageId.sent_at) > now - DELETE_WINDOW,
            )
        )
        return sorted(set(rows.all()))


async def drop(sessions: SessionFactory, *, aliases: Sequence[str]) -> None:
    """Forget every id of these aliases' chat (after the messages were deleted)."""
    async with transaction(sessions) as session:
        await session.exec(delete(ChatMessageId).where(col(ChatMessageId.alias).in_(aliases)))


async def purge_chat_ids(sessions: SessionFactory, now: dt.datetime) -> int:
    """Delete the ids Telegram would no longer let anyone delete; return how many went."""
    async with transaction(sessions) as session:
        result = await session.exec(
            delete(ChatMessageId).where(col(ChatMessageId.sent_at) <= now - DELETE_WINDOW)
        )
        return int(result.rowcount or 0)


async def claim_update(sessions: SessionFactory, *, update_id: int, now: dt.datetime) -> bool:
    """Mark an update handled; False if it was handled before (a redelivery).

    Uses the engine's key for the same update (``telegram:u<update_id>``), so an update
    is answered once whichever path handles it.
    """
    key = f"{Channel.TELEGRAM}:{update_message_id(update_id)}"
    try:
        async with transaction(sessions) as session:
            if await session.get(SeenMessage, key) is not None:
                return False
            session.add(SeenMessage(key=key, expires_at=now + SEEN_ID_TTL))
    except IntegrityError:
        return False
    return True


def update_message_id(update_id: int) -> str:
    """The provider message id the engine de-duplicates a Telegram update by."""
    return f"u{update_id}"
