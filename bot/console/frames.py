"""What a console page may send over its WebSocket: one typed frame per action.

Parsed with a pydantic discriminated union on ``type``: an unknown kind, a misspelt
field or a wrong type is no frame at all, and the socket ignores it. Ticket ids are the
opaque references this socket handed out, never database ids.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

MAX_FRAME = 200_000
"""A transfer carries the page's transcript; anything bigger is not a console frame."""

Ref = int | str | None


class _Frame(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Hello(_Frame):
    type: Literal["hello"]
    csrf: str


class Active(_Frame):
    type: Literal["active"]


class Claim(_Frame):
    type: Literal["claim"]
    ticket: str


class ShowMore(_Frame):
    """Show the next screenful of the waiting line."""

    type: Literal["more"]


class Send(_Frame):
    type: Literal["send"]
    ticket: str
    text: str
    ref: Ref = None


class SendCanned(_Frame):
    type: Literal["canned"]
    ticket: str
    key: str
    ref: Ref = None


class SendCard(_Frame):
    type: Literal["card"]
    ticket: str
    ref: Ref = None


class DirectorySearch(_Frame):
    type: Literal["directory_search"]
    ticket: str
    need: str
    place: str


class DirectoryCard(_Frame):
    type: Literal["directory_card"]
    ticket: str
    service: str
    ref: Ref = None


class Transfer(_Frame):
    """Hand a chat on; ``lines`` and ``notes`` go page to page over the relay, never stored."""

    type: Literal["transfer"]
    ticket: str
    to: int | None = None
    lines: list[tuple[str, str]] = Field(default_factory=list, max_length=2_000)
    notes: str = Field(default="", max_length=20_000)


class Close(_Frame):
    type: Literal["close"]
    ticket: str
    outcomes: list[str]


class Got(_Frame):
    """The page shows this message: it may stop being held."""

    type: Literal["got"]
    ticket: str
    id: str


class Typing(_Frame):
    type: Literal["typing"]
    ticket: str


PageFrame = Annotated[
    Hello
    | Active
    | Claim
    | ShowMore
    | Send
    | SendCanned
    | SendCard
    | DirectorySearch
    | DirectoryCard
    | Transfer
    | Close
    | Got
    | Typing,
    Field(discriminator="type"),
]
_adapter: TypeAdapter[PageFrame] = TypeAdapter(PageFrame)


def parse_frame(raw: str) -> PageFrame | None:
    """The typed frame, or None for anything that is not one (too big, not JSON, wrong shape)."""
    if len(raw) > MAX_FRAME:
        return None
    try:
        return _adapter.validate_json(raw)
    except ValidationError:
        return None
