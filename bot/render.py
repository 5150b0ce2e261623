"""Text rendering shared by every text-only surface (SMS, the terminal, the SMS-style simulator).

Buttons become numbered lines: "1 Hotline numbers". The person answers with the number.
For SMS, each message is also kept within a segment budget: longer content is split on
sentence (or line) boundaries into a few messages numbered "(1/2)", "(2/2)".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from bot.segments import measure
from bot.types import Reply

SEGMENT_BUDGET = 3
"""Segments one SMS may take before it is split: 459 GSM-7 or 201 UCS-2 characters.

Basic phones reassemble a few concatenated parts reliably; longer chains arrive in
pieces or not at all on some networks. The budget is in segments, so each language
gets the character limit of its own encoding.
"""

# A sentence ends at . ! ? … ؟ । (followed by a space) or at Chinese stops (no space
# needed). A line break always ends a piece, so numbered menu lines stay whole.
_BOUNDARY = re.compile(r"(?<=[.!?…؟।])[ \t]+|\n|(?<=[。！？])")
_MAX_MARKER = len("(99/99) ")


def numbered(reply: Reply) -> str:
    """Render a reply as plain text with its buttons as numbered lines."""
    if not reply.buttons:
        return reply.text
    lines = [reply.text]
    lines.extend(f"{index} {button.label}" for index, button in enumerate(reply.buttons, start=1))
    return "\n".join(lines)


def numbered_all(replies: Sequence[Reply]) -> list[str]:
    return [numbered(reply) for reply in replies]


def sms_parts(reply: Reply, budget: int = SEGMENT_BUDGET) -> list[str]:
    """Render one reply as SMS bodies, each within ``budget`` segments."""
    text = numbered(reply)
    if measure(text).count <= budget:
        return [text]
    chunks = _pack(text, budget)
    total = len(chunks)
    return [f"({index}/{total}) {chunk}" for index, chunk in enumerate(chunks, start=1)]


def sms_parts_all(replies: Sequence[Reply], budget: int = SEGMENT_BUDGET) -> list[str]:
    return [part for reply in replies for part in sms_parts(reply, budget)]


def _fits(text: str, budget: int) -> bool:
    # Reserve room for the "(n/m) " marker, which is plain ASCII and never changes encoding.
    return measure("0" * _MAX_MARKER + text).count <= budget


def _pack(text: str, budget: int) -> list[str]:
    """Fill messages greedily with whole sentences; cut a sentence only if it alone is too long."""
    chunks: list[str] = []
    current = ""
    for separator, piece in _pieces(text):
        candidate = f"{current}{separator}{piece}" if current else piece
        if _fits(candidate, budget):
            current = candidate
            continue
        if current:
            chunks.append(current)
        current = ""
        for part in _cut(piece, budget):
            if current:
                chunks.append(current)
            current = part
    if current:
        chunks.append(current)
    return chunks


def _pieces(text: str) -> Iterator[tuple[str, str]]:
    """Yield (separator before it, sentence) pairs; the first separator is empty."""
    separator, start = "", 0
    for match in _BOUNDARY.finditer(text):
        if match.start() > start:
            yield separator, text[start : match.start()]
            separator = match.group() or ""
        elif match.group() == "\n":
            separator = "\n"
        start = match.end()
    if start < len(text):
        yield separator, text[start:]


def _cut(sentence: str, budget: int) -> list[str]:
    """Cut an over-long sentence at spaces, or anywhere when it has none (Chinese, Thai)."""
    if _fits(sentence, budget):
        return [sentence]
    parts: list[str] = []
    current = ""
    for word in re.split(r"(?<= )", sentence):
        candidate = current + word
        if _fits(candidate, budget):
            current = candidate
            continue
        if current:
            parts.append(current.rstrip())
        current = ""
        for char in word:
            if not _fits(current + char, budget):
                parts.append(current)
                current = ""
            current += char
    if current.strip():
        parts.append(current.rstrip())
    return parts
