"""The console's audit log: who did what and when, never what was said."""

from __future__ import annotations

from bot.db import transaction
from bot.helpline import Helpline
from bot.models import AuditEvent


async def record(
    helpline: Helpline,
    *,
    action: str,
    advocate_id: int | None = None,
    ticket_id: int | None = None,
    detail: str = "",
) -> None:
    """Append one event; ``detail`` is a content-free code (an outcome, an advocate id)."""
    async with transaction(helpline.sessions) as session:
        session.add(
            AuditEvent(
                at=helpline.clock(),
                advocate_id=advocate_id,
                action=action[:40],
                ticket_id=ticket_id,
                detail=detail[:120],
            )
        )
