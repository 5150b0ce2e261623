"""How fresh the directories are: entries not verified for more than 12 months.

``helpline content check`` calls ``stale_entries`` for the hotline directory; the same
rule applies to imported services through ``stale_services``.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import col, or_, select

from bot.db import SessionFactory
from bot.directory.models import DirectoryService
from bot.hotlines import Directory

STALE_AFTER_MONTHS = 12


def stale_before(today: dt.date) -> dt.date:
    """The oldest date still fresh: the same day twelve months ago (28 Feb for 29 Feb)."""
    try:
        return today.replace(year=today.year - 1)
    except ValueError:
        return today.replace(year=today.year - 1, day=28)


def stale_entries(directory: Directory, today: dt.date) -> list[str]:
    """One warning per hotline entry whose `checked` date is more than 12 months old."""
    limit = stale_before(today)
    return [
        f"{number.id}: checked {number.checked.isoformat()}, more than "
        f"{STALE_AFTER_MONTHS} months ago; verify it with the service and update `checked`"
        for number in sorted(directory.numbers.values(), key=lambda n: n.id)
        if number.checked < limit
    ]


async def stale_services(sessions: SessionFactory, today: dt.date) -> list[str]:
    """One warning per active imported service not verified for more than 12 months."""
    limit = stale_before(today)
    async with sessions() as session:
        rows = await session.exec(
            select(DirectoryService)
            .where(
                DirectoryService.status == "active",
                or_(
                    col(DirectoryService.last_verified).is_(None),
                    col(DirectoryService.last_verified) < limit,
                ),
            )
            .order_by(col(DirectoryService.id))
        )
        return [
            f"service {service.id}: "
            + (
                f"last verified {service.last_verified.isoformat()}"
                if service.last_verified
                else "never verified"
            )
            for service in rows.all()
        ]
