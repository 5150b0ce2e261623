"""The supervisor's live board: the line, the chats and who is online, pushed on every change.

One connection per supervisor page. It listens to the queue topic (a ticket opened, was
claimed, transferred or closed) and also pushes every ``PUSH_SECONDS`` so waits grow
and advocates going offline show without the page asking. Every frame read is checked
against the session again: a session that ended or lost its supervisor role is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import WebSocket, WebSocketDisconnect
from sqlmodel import select

from bot.accounts import list_advocates
from bot.console import auth
from bot.console.audit import record
from bot.console.board_frames import (
    Board,
    Chat,
    Hello,
    Online,
    Reassign,
    Result,
    UrgentTicket,
    Waiting,
    parse_frame,
)
from bot.console.words import Words
from bot.helpline import Helpline
from bot.models import Advocate, Ticket
from bot.queue import TicketError
from bot.queue_listing import QueueEntry, WaitingGroup
from bot.relay import QUEUE_TOPIC, Subscription
from bot.states import TicketStatus

log = logging.getLogger(__name__)

PUSH_SECONDS = 15.0
HELLO_SECONDS = 10.0


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _online(advocate: Advocate, now: dt.datetime) -> bool:
    return bool(advocate.active and advocate.online_until and _aware(advocate.online_until) > now)


class Refs:
    """Opaque ticket references for one page: it never sees a database id it could walk."""

    def __init__(self, secret: str, staff_id: int) -> None:
        self._key = hmac.new(
            secret.encode(), f"supervisor-ticket-ref:{staff_id}".encode(), hashlib.sha256
        ).digest()
        self._tickets: dict[str, int] = {}

    def ref(self, ticket_id: int) -> str:
        ref = "s" + hmac.new(self._key, str(ticket_id).encode(), hashlib.sha256).hexdigest()[:20]
        self._tickets[ref] = ticket_id
        return ref

    def ticket(self, ref: str) -> int | None:
        return self._tickets.get(ref)


def build_board(
    line: Line,
    advocates: Sequence[Advocate],
    now: dt.datetime,
    refs: Refs,
    long_chat: dt.timedelta,
    claimed: dict[int, dt.datetime] | None = None,
) -> Board:
    """Every live figure, from the line's totals, its urgent people and the open chats."""
    active = line.chats

    def seconds(since: dt.datetime) -> int:
        return max(0, int((now - _aware(since)).total_seconds()))

    def since(entry: QueueEntry) -> dt.datetime:
        """A chat is timed from its claim (from the request where the claim time is unknown)."""
        return (claimed or {}).get(entry.id) or entry.created_at

    names = {a.id: a.name for a in advocates}
    load: defaultdict[int, int] = defaultdict(int)
    for entry in active:
        if entry.advocate_id is not None:
            load[entry.advocate_id] += 1
    chats = sorted(
        (
            Chat(
                ticket=refs.ref(entry.id),
                alias=entry.public_alias,
                language=entry.language,
                channel=entry.channel,
                urgent=entry.urgent,
                advocate=names.get(entry.advocate_id, "?"),
                advocate_id=entry.advocate_id or 0,
                open_seconds=seconds(since(entry)),
                long=now - _aware(since(entry)) > long_chat,
            )
            for entry in active
        ),
        key=lambda chat: (chat.advocate, -chat.open_seconds),
    )
    return Board(
        waiting=[
            Waiting(
                language=group.language,
                urgent=group.urgent,
                count=group.count,
                longest_seconds=seconds(group.oldest),
            )
            for group in line.summary
        ],
        waiting_total=sum(group.count for group in line.summary),
        longest_seconds=max((seconds(group.oldest) for group in line.summary), default=0),
        urgent=[
            UrgentTicket(
                ticket=refs.ref(e.id),
                alias=e.public_alias,
                language=e.language,
                waiting_seconds=seconds(e.created_at),
            )
            for e in line.urgent
        ],
        chats=chats,
        online=[
            Online(
                id=a.id or 0,
                name=a.name,
                languages=list(a.language_codes()),
                chats=load[a.id or 0],
                max_chats=a.max_chats,
            )
            for a in advocates
            if _online(a, now)
        ],
        long_chat_minutes=int(long_chat.total_seconds() // 60),
    )


@dataclass(frozen=True, slots=True)
class Line:
    """What the board shows of the line: totals by aggregate, the urgent people, the chats."""

    summary: list[WaitingGroup]
    urgent: list[QueueEntry]
    chats: list[QueueEntry]


async def read_line(helpline: Helpline) -> Line:
    """The board's reads: never every waiting ticket, only the urgent ones by name."""
    queue = helpline.queue
    summary = await queue.waiting_summary()
    urgent = sum(group.count for group in summary if group.urgent)
    # With no languages preferred the line starts with every urgent person.
    page = await queue.waiting_page(size=urgent) if urgent else None
    named = [entry for entry in page.entries if entry.urgent] if page else []
    return Line(summary, named, await queue.open_chats())


async def claim_times(helpline: Helpline) -> dict[int, dt.datetime]:
    """When each open chat was claimed."""
    async with helpline.sessions() as session:
        rows = await session.exec(
            select(Ticket.id, Ticket.claimed_at).where(Ticket.status == TicketStatus.ACTIVE)
        )
        return {ticket_id: at for ticket_id, at in rows.all() if ticket_id and at}


class SupervisorSocket:
    def __init__(
        self, helpline: Helpline, socket: WebSocket, staff: auth.Staff, token: str, words: Words
    ) -> None:
        self.helpline = helpline
        self.socket = socket
        self.staff = staff
        self.words = words
        self._token = token
        self._refs = Refs(helpline.settings.secret_key.get_secret_value(), staff.id)
        self._lock = asyncio.Lock()
        # A chat open longer than this is highlighted: the advocate may need relief or help.
        self.long_chat = dt.timedelta(minutes=helpline.settings.long_chat_minutes)

    async def run(self) -> None:
        """Serve the board until the page closes or the session ends."""
        if not await self._hello():
            await self.socket.close(code=4403)
            return
        async with self.helpline.relay.subscribe(QUEUE_TOPIC) as events:
            tasks = [
                asyncio.create_task(self._pump(events), name="board-queue"),
                asyncio.create_task(self._tick(), name="board-tick"),
            ]
            try:
                await self.push()
                await self._read()
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    async def _hello(self) -> bool:
        try:
            async with asyncio.timeout(HELLO_SECONDS):
                raw = await self.socket.receive_text()
        except (TimeoutError, WebSocketDisconnect, RuntimeError):
            # RuntimeError: Starlette's WebSocketDisconnected, when the page has already gone.
            return False
        frame = parse_frame(raw)
        return isinstance(frame, Hello) and auth.csrf_matches(frame.csrf, self.staff.csrf_token)

    async def _send(self, text: str) -> None:
        # One writer at a time: the pump, the ticker and replies share the socket.
        async with self._lock:
            await self.socket.send_text(text)

    async def push(self) -> None:
        line = await read_line(self.helpline)
        advocates = [a for a in await list_advocates(self.helpline.sessions) if a.active]
        claimed = await claim_times(self.helpline)
        board = build_board(
            line, advocates, self.helpline.clock(), self._refs, self.long_chat, claimed
        )
        await self._send(board.model_dump_json())

    async def _pump(self, events: Subscription) -> None:
        async for _ in events:
            await self.push()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(PUSH_SECONDS)
            if not await self._still_supervisor(touch=False):
                await self.socket.close(code=4401)
                return
            await self.push()

    async def _still_supervisor(self, *, touch: bool) -> bool:
        staff = await auth.staff_for(self.helpline, self._token, touch=touch)
        return staff is not None and staff.supervises

    async def _read(self) -> None:
        while True:
            try:
                raw = await self.socket.receive_text()
            except (WebSocketDisconnect, RuntimeError):
                return  # the page went away
            frame = parse_frame(raw)
            if frame is None:
                continue
            if not await self._still_supervisor(touch=True):
                with contextlib.suppress(Exception):
                    await self.socket.close(code=4401)
                return
            if isinstance(frame, Reassign):
                await self._reassign(frame)

    async def _reassign(self, frame: Reassign) -> None:
        ticket_id = self._refs.ticket(frame.ticket)
        if ticket_id is None:
            await self._result(False, self.words.t("error.no_such_chat"))
            return
        try:
            await self.helpline.queue.transfer(
                ticket_id=ticket_id,
                advocate_id=self.staff.id,
                to_advocate=frame.to,
                supervisor=True,
            )
        except TicketError as error:
            log.info("supervisor reassign refused ticket=%s", ticket_id)
            await self._result(False, self.words.t("error.reassign", reason=self._reason(error)))
            return
        await record(
            self.helpline,
            action="reassign",
            advocate_id=self.staff.id,
            ticket_id=ticket_id,
            detail="queue" if frame.to is None else f"advocate:{frame.to}",
        )
        await self._result(True, self.words.t("board.reassigned"))

    def _reason(self, error: TicketError) -> str:
        """The queue's reason in the supervisor's language where the console knows it."""
        text = str(error)
        for ending, key in (
            ("is not online", "error.not_online"),
            ("does not speak this person's language", "error.not_their_language"),
            ("already holds as many chats as they can", "error.full"),
            ("this chat is already theirs", "error.already_theirs"),
            ("no such advocate", "error.no_such_advocate"),
            ("ticket is not open", "error.not_open"),
        ):
            if text.endswith(ending):
                return self.words.t(key)
        return self.words.t("error.unknown")

    async def _result(self, ok: bool, message: str) -> None:
        await self._send(Result(ok=ok, message=message).model_dump_json())
