"""Text rendering shared by every text-only surface (SMS, the terminal, the SMS-style simulator).

Buttons become numbered lines: "1 Hotline numbers". The person answers with the number.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.types import Reply


def numbered(reply: Reply) -> str:
    """Render a reply as plain text with its buttons as numbered lines."""
    if not reply.buttons:
        return reply.text
    lines = [reply.text]
    lines.extend(f"{index} {button.label}" for index, button in enumerate(reply.buttons, start=1))
    return "\n".join(lines)


def numbered_all(replies: Sequence[Reply]) -> list[str]:
    return [numbered(reply) for reply in replies]
