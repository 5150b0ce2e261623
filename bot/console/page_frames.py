"""What the server sends a console page: one TypedDict per frame, keyed by ``type``.

They are plain dicts on the wire (JSON), but mypy checks every frame the socket
builds against these: a misspelt ``type`` or key does not type-check.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class QueueFrame(TypedDict):
    """The shown screenful of the waiting line (and the chats this advocate sees), with totals."""

    type: Literal["queue"]
    tickets: list[dict[str, Any]]
    waiting: int
    languages: list[dict[str, Any]]
    more: bool
    arrived: list[dict[str, Any]]
    """Tickets opened since the last frame, wherever they are in the line: the page alerts."""
    advocates: list[dict[str, Any]]


class OpenedFrame(TypedDict):
    type: Literal["opened"]
    ticket: dict[str, Any]
    canned: list[dict[str, str]]
    card: dict[str, str]
    needs: list[dict[str, str]]


class MessageFrame(TypedDict):
    """What the person wrote (the only frame with their words, besides a handover)."""

    type: Literal["message"]
    ticket: str
    id: str
    text: str
    cut: bool


class MissedFrame(TypedDict):
    type: Literal["missed"]
    ticket: str
    count: int


class HandoverFrame(TypedDict):
    type: Literal["handover"]
    ticket: str
    lines: list[list[str]]
    notes: str


class SentFrame(TypedDict):
    type: Literal["sent"]
    ticket: str
    ref: object
    ok: bool


class DirectoryFrame(TypedDict):
    type: Literal["directory"]
    ticket: str
    results: list[dict[str, str]]
    error: NotRequired[str]
    note: NotRequired[str]


class EndedFrame(TypedDict):
    type: Literal["ended"]
    ticket: str
    reason: str


class ErrorFrame(TypedDict):
    type: Literal["error"]
    ticket: object
    ref: object
    message: str
    length: NotRequired[int]
    """With ``limit``, for a reply too long to send: the page words it with the numbers."""
    limit: NotRequired[int]


class LogoutFrame(TypedDict):
    type: Literal["logout"]


class RelayFrame(TypedDict):
    type: Literal["relay"]
    connected: bool


PageBound = (
    QueueFrame
    | OpenedFrame
    | MessageFrame
    | MissedFrame
    | HandoverFrame
    | SentFrame
    | DirectoryFrame
    | EndedFrame
    | ErrorFrame
    | LogoutFrame
    | RelayFrame
)
