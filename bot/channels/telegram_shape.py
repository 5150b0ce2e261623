"""Check a Telegram update's shape before anything reads it.

An update that arrives with the right secret token but the wrong shape (``text`` as a
number, a missing ``chat``, a location given as strings, arrays nested a thousand
deep) is acknowledged and dropped with a counted reason: answering an error would make
Telegram deliver it again and again and hold back every update behind it. Only the
fields the help line reads are checked; everything else is left for the Bot API
library to ignore.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32
"""Real updates nest about ten levels (a button inside a keyboard inside a message)."""
MAX_TEXT = 8_192
"""Telegram's own limit is 4,096 characters for a message and 1,024 for a caption."""
MAX_ID = 2**53
"""Telegram ids fit in 52 bits (the Bot API documents this for chat ids)."""

Spec = dict[str, Any]

_USER: Spec = {"id": int, "is_bot": bool, "first_name": str, "language_code": str}
_CHAT: Spec = {"id": int, "type": str}
_LOCATION: Spec = {"latitude": ("lat", float), "longitude": ("lon", float)}
_MESSAGE: Spec = {
    "message_id": int,
    "date": int,
    "chat": _CHAT,
    "from": _USER,
    "text": str,
    "caption": str,
    "location": _LOCATION,
    "contact": dict,
}
_MEMBER: Spec = {"status": str, "user": _USER}
_UPDATE: Spec = {
    "update_id": int,
    "message": _MESSAGE,
    "edited_message": _MESSAGE,
    "channel_post": _MESSAGE,
    "callback_query": {"id": str, "from": _USER, "message": _MESSAGE, "data": str},
    "my_chat_member": {
        "chat": _CHAT,
        "from": _USER,
        "date": int,
        "old_chat_member": _MEMBER,
        "new_chat_member": _MEMBER,
    },
}
_REQUIRED: dict[int, tuple[str, ...]] = {
    id(_USER): ("id",),
    id(_CHAT): ("id", "type"),
    id(_MESSAGE): ("message_id", "chat"),
    id(_LOCATION): ("latitude", "longitude"),
    id(_MEMBER): ("status",),
    id(_UPDATE): ("update_id",),
}
_RANGES = {"lat": 90.0, "lon": 180.0}


def read_update(body: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """Parse and check one update: (the update, None) or (None, the reason it is dropped)."""
    try:
        data = json.loads(body)
    except RecursionError:
        return None, "too_deep"
    except ValueError:  # invalid JSON, invalid UTF-8 and lone surrogates alike
        return None, "not_json"
    if _too_deep(data):
        return None, "too_deep"
    if not isinstance(data, dict) or not _fits(data, _UPDATE):
        return None, "malformed"
    return data, None


def _too_deep(data: object) -> bool:
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value)
    return False


def _fits(value: dict[str, Any], spec: Spec) -> bool:
    for name in _REQUIRED.get(id(spec), ()):
        if name not in value:
            return False
    for name, expected in spec.items():
        if name in value and not _fits_one(value[name], expected):
            return False
    return True


def _fits_one(value: object, expected: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(value, dict) and _fits(value, expected)
    if isinstance(expected, tuple):  # a coordinate: a finite number within its range
        limit = _RANGES[expected[0]]
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and -limit <= value <= limit
        )
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) < MAX_ID
    if expected is str:
        return isinstance(value, str) and len(value) <= MAX_TEXT and _encodable(value)
    return isinstance(value, expected)


def _encodable(text: str) -> bool:
    """False for lone surrogates (``"\\ud800"`` is valid JSON but not valid text)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
