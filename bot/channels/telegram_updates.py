"""Read a Telegram update into one plain value: what arrived, from which chat, nothing more.

Only the fields the help line acts on are read. A photo's file id and a shared contact's
phone number are never copied out of the update: the kind of message is all
that matters. A shared location becomes this turn's (hidden) text for the services
search, in the form the directory's gazetteer reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from telegram import Chat, ChatMember, Message, Update

from bot.directory.gazetteer import location_text


class Kind(StrEnum):
    TEXT = "text"
    """Words, a command mapped to words, or a button: the engine answers."""
    MEDIA = "media"
    """A photo, voice note, sticker, file or video: never downloaded; the engine answers."""
    CONTACT = "contact"
    """A shared phone contact: never read, never kept."""
    NOT_PRIVATE = "not_private"
    """Anything in a group, supergroup or channel: the bot refuses and leaves."""
    IGNORED = "ignored"
    """Edits, service messages, other bots, update types the bot did not ask for."""


@dataclass(frozen=True, slots=True)
class Incoming:
    kind: Kind
    update_id: int
    chat_id: int = field(default=0, repr=False)
    text: str = field(default="", repr=False)
    choice: str | None = None
    language_code: str | None = None
    message_id: int | None = None
    """The person's own message (kept only so that forget can delete it)."""
    callback_id: str | None = None
    forget: bool = False
    """/forget or the forget button: wipe the chat whatever the engine decides."""


# Commands map to words and payloads the engine already knows; English keywords work in
# every language. /start is a payload so that a running session gets the welcome too.
_COMMANDS: dict[str, tuple[str, str | None]] = {
    "start": ("", "start"),
    "menu": ("menu", None),
    "language": ("", "language"),
    "forget": ("", "forget"),
    "help": ("help", None),
}
_MEDIA_FIELDS = (
    "photo",
    "sticker",
    "voice",
    "video_note",
    "video",
    "audio",
    "document",
    "animation",
    "paid_media",
    "story",
)
_LEAVING_STATUSES = (ChatMember.LEFT, ChatMember.BANNED)


def read(update: Update) -> Incoming:
    """Say what this update is; every update maps to exactly one kind."""
    if update.callback_query is not None:
        return _read_button(update)
    if update.message is not None:
        return _read_message(update, update.message)
    if update.channel_post is not None:
        return _not_private(update, update.channel_post.chat, None)
    member = update.my_chat_member
    if (
        member is not None
        and member.chat.type != Chat.PRIVATE
        and member.new_chat_member.status not in _LEAVING_STATUSES
    ):
        code = member.from_user.language_code if member.from_user else None
        return _not_private(update, member.chat, code)
    # Edited messages are ignored on purpose: the original was answered already, and a
    # second answer to an old message would scramble the menu the person is looking at.
    return Incoming(Kind.IGNORED, update.update_id)


def _read_button(update: Update) -> Incoming:
    query = update.callback_query
    assert query is not None
    code = query.from_user.language_code
    message = query.message
    if message is None:
        # An inline-mode button has no chat; this bot never sends those.
        return Incoming(Kind.IGNORED, update.update_id, callback_id=query.id)
    if message.chat.type != Chat.PRIVATE:
        return _not_private(update, message.chat, code, callback_id=query.id)
    data = (query.data or "")[:64]
    return Incoming(
        Kind.TEXT,
        update.update_id,
        chat_id=message.chat.id,
        choice=data or None,
        language_code=code,
        callback_id=query.id,
        forget=data == "forget",
    )


def _read_message(update: Update, message: Message) -> Incoming:
    sender = message.from_user
    code = sender.language_code if sender else None
    if message.chat.type != Chat.PRIVATE:
        return _not_private(update, message.chat, code)
    if sender is None or sender.is_bot:
        return Incoming(Kind.IGNORED, update.update_id)
    if message.text is not None:
        return _read_text(update, message, message.text)
    if message.contact is not None:
        return _private(update, message, Kind.CONTACT)
    if message.location is not None:
        # Used once, for the services search the person is in (or to open it), then
        # forgotten: it travels only as this turn's hidden text, never stored or logged.
        where = location_text(message.location.latitude, message.location.longitude)
        return _private(update, message, Kind.TEXT, text=where, choice="services:place")
    if message.effective_attachment or any(getattr(message, n, None) for n in _MEDIA_FIELDS):
        # The caption is words the person wrote (danger words count there too); the file
        # itself is never fetched. effective_attachment covers kinds added to the library
        # after this list was written (live_photo, paid media …).
        return _private(update, message, Kind.MEDIA, text=message.caption or "")
    return Incoming(Kind.IGNORED, update.update_id)


def _read_text(update: Update, message: Message, text: str) -> Incoming:
    if text.startswith("/"):
        words = text[1:].split(maxsplit=1)
        command = words[0].split("@", 1)[0].casefold() if words else ""
        if command in _COMMANDS:
            said, choice = _COMMANDS[command]
            return _private(
                update, message, Kind.TEXT, text=said, choice=choice, forget=command == "forget"
            )
    return _private(update, message, Kind.TEXT, text=text)


def _private(
    update: Update,
    message: Message,
    kind: Kind,
    *,
    text: str = "",
    choice: str | None = None,
    forget: bool = False,
) -> Incoming:
    return Incoming(
        kind,
        update.update_id,
        chat_id=message.chat.id,
        text=text,
        choice=choice,
        language_code=message.from_user.language_code if message.from_user else None,
        message_id=message.message_id,
        forget=forget,
    )


def _not_private(
    update: Update, chat: Chat, code: str | None, *, callback_id: str | None = None
) -> Incoming:
    return Incoming(
        Kind.NOT_PRIVATE,
        update.update_id,
        chat_id=chat.id,
        language_code=code,
        callback_id=callback_id,
    )
