"""The supervisor board's WebSocket frames, both ways, typed.

From the page: ``hello`` (the session's CSRF token) and ``reassign``. To the page:
one ``board`` frame with every figure, sent again on every change. A board holds
ticket names (the random public alias), languages, channels and times; never an
alias key, a number or a word anyone wrote.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

MAX_FRAME = 2_000


class _Frame(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Hello(_Frame):
    type: Literal["hello"]
    csrf: str


class Reassign(_Frame):
    """Give a chat to another advocate, or (``to`` None) back to the front of the line."""

    type: Literal["reassign"]
    ticket: str = Field(max_length=40)
    to: int | None = None


PageFrame = Annotated[Hello | Reassign, Field(discriminator="type")]
_adapter: TypeAdapter[PageFrame] = TypeAdapter(PageFrame)


def parse_frame(raw: str) -> PageFrame | None:
    if len(raw) > MAX_FRAME:
        return None
    try:
        return _adapter.validate_json(raw)
    except ValidationError:
        return None


class Waiting(_Frame):
    """People waiting in one language at one priority."""

    language: str
    urgent: bool
    count: int
    longest_seconds: int


class Chat(_Frame):
    ticket: str
    alias: str
    language: str
    channel: str
    urgent: bool
    advocate: str
    advocate_id: int
    open_seconds: int
    long: bool


class UrgentTicket(_Frame):
    ticket: str
    alias: str
    language: str
    waiting_seconds: int


class Online(_Frame):
    id: int
    name: str
    languages: list[str]
    chats: int
    max_chats: int


class Board(_Frame):
    type: Literal["board"] = "board"
    waiting: list[Waiting]
    waiting_total: int
    longest_seconds: int
    urgent: list[UrgentTicket]
    chats: list[Chat]
    online: list[Online]
    long_chat_minutes: int


class Result(_Frame):
    """The outcome of a reassign: ``ok`` or a message in the supervisor's language."""

    type: Literal["result"] = "result"
    ok: bool
    message: str
