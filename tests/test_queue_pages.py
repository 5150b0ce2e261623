"""The waiting line read a page at a time, on SQLite and PostgreSQL: every person once, in order."""

from __future__ import annotations

import datetime as dt

from bot.accounts import TOTP_PURPOSE, add_advocate
from bot.helpline import Helpline
from bot.models import Ticket
from bot.queue_listing import WaitingGroup
from tests.conftest import FrozenClock
from tests.console.conftest import PASSWORD

LANGUAGES = ("en", "es", "fr")


async def fill_line(helpline: Helpline, clock: FrozenClock, count: int) -> list[Ticket]:
    """``count`` people waiting in three languages, every seventh urgent, one ms apart."""
    start = clock.now - dt.timedelta(hours=1)
    made = []
    async with helpline.sessions() as session, session.begin():
        for index in range(count):
            ticket = Ticket(
                public_alias=f"Person {index:02d}",
                channel="sms",
                language=LANGUAGES[index % 3],
                country="US",
                urgent=index % 7 == 3,
                # Two people arrive in the same millisecond now and then: the id decides.
                created_at=start + dt.timedelta(milliseconds=index - index % 5 // 4),
            )
            session.add(ticket)
            made.append(ticket)
        await session.flush()
    return made


def inbox_order(tickets: list[Ticket], spoken: set[str]) -> list[str]:
    """What the inbox promises: spoken languages first, then urgent, then longest waiting."""
    ordered = sorted(
        tickets, key=lambda t: (t.language not in spoken, not t.urgent, t.created_at, t.id)
    )
    return [t.public_alias for t in ordered]


async def test_paging_shows_each_waiting_person_once_in_order_while_others_are_claimed(
    helpline: Helpline, clock: FrozenClock
) -> None:
    tickets = await fill_line(helpline, clock, 40)
    advocate, _ = await add_advocate(
        helpline.sessions, helpline.sealer(TOTP_PURPOSE), name="ana", password=PASSWORD
    )
    assert advocate.id is not None
    spoken = {"es", "fr"}
    expected = inbox_order(tickets, spoken)
    by_alias = {t.public_alias: t for t in tickets}

    seen: list[str] = []
    claimed_unseen: set[str] = set()
    page = await helpline.queue.waiting_page(spoken=spoken, size=7)
    while True:
        seen.extend(entry.public_alias for entry in page.entries)
        if page.next is None:
            break
        # Between two pages: one person already shown and one not yet shown are claimed.
        unseen = [alias for alias in expected if alias not in seen and alias not in claimed_unseen]
        for alias in (seen[-1], unseen[len(unseen) // 2]):
            ticket_id = by_alias[alias].id
            assert ticket_id is not None
            await helpline.queue.claim(ticket_id=ticket_id, advocate_id=advocate.id)
            if alias not in seen:
                claimed_unseen.add(alias)
        page = await helpline.queue.waiting_page(spoken=spoken, size=7, after=page.next)

    assert claimed_unseen
    assert len(seen) == len(set(seen))
    assert seen == [alias for alias in expected if alias not in claimed_unseen]


async def test_pages_end_exactly_and_an_advocate_without_languages_sees_urgent_first(
    helpline: Helpline, clock: FrozenClock
) -> None:
    tickets = await fill_line(helpline, clock, 21)
    first = await helpline.queue.waiting_page(size=21)
    assert [e.public_alias for e in first.entries] == inbox_order(tickets, set())
    assert first.next is None
    half = await helpline.queue.waiting_page(size=20)
    rest = await helpline.queue.waiting_page(size=20, after=half.next)
    assert len(half.entries) == 20 and [e.public_alias for e in rest.entries] == [
        inbox_order(tickets, set())[-1]
    ]
    assert rest.next is None


async def test_the_summary_counts_everyone_waiting_by_language_and_urgency(
    helpline: Helpline, clock: FrozenClock
) -> None:
    tickets = await fill_line(helpline, clock, 30)
    advocate, _ = await add_advocate(
        helpline.sessions, helpline.sealer(TOTP_PURPOSE), name="ana", password=PASSWORD
    )
    assert advocate.id is not None and tickets[0].id is not None
    await helpline.queue.claim(ticket_id=tickets[0].id, advocate_id=advocate.id)
    waiting = tickets[1:]
    summary = await helpline.queue.waiting_summary()
    expected = []
    for urgent in (True, False):
        for language in sorted(LANGUAGES):
            group = [t for t in waiting if t.language == language and t.urgent == urgent]
            if group:
                oldest = min(t.created_at for t in group)
                expected.append((language, urgent, len(group), oldest.replace(tzinfo=None)))
    assert [_plain(g) for g in summary] == expected


def _plain(group: WaitingGroup) -> tuple[str, bool, int, dt.datetime]:
    return (group.language, group.urgent, group.count, group.oldest.replace(tzinfo=None))
