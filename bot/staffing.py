"""Where staffing is short: half-minutes with people waiting and nobody online, by hour.

Housekeeping samples every 30 seconds. Each half-minute slot is counted once across
all workers: the slot is claimed (``DeliveryClaims``, Redis ``SET NX`` for 30 seconds,
which outlasts the slot) before it is added to the daily counts as ``unstaffed:HH``.
Only a count is kept: no ticket, alias or advocate.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlmodel import col, func, select

from bot.models import Advocate, Ticket
from bot.states import TicketStatus

if TYPE_CHECKING:
    from bot.helpline import Helpline

SLOT_SECONDS = 30
METRIC = "unstaffed:{hour:02d}"


class StaffingSampler:
    def __init__(self) -> None:
        self._last_slot: int | None = None

    async def sample(self, helpline: Helpline, now: dt.datetime) -> bool:
        """Count this half-minute if people wait and nobody is online; True when counted."""
        slot = int(now.timestamp()) // SLOT_SECONDS
        if slot == self._last_slot:
            return False
        self._last_slot = slot
        async with helpline.sessions() as session:
            waiting = (
                await session.exec(
                    select(func.count())
                    .select_from(Ticket)
                    .where(Ticket.status == TicketStatus.WAITING)
                )
            ).one()
            if not waiting:
                return False
            online = (
                await session.exec(
                    select(func.count())
                    .select_from(Advocate)
                    .where(col(Advocate.active))
                    .where(col(Advocate.online_until) > now)
                )
            ).one()
        if online or not await helpline.claims.claim(f"unstaffed:{slot}"):
            return False
        helpline.counts.add(
            day=now.date(), channel="", language="", metric=METRIC.format(hour=now.hour)
        )
        return True
