"""One advocate's live console connection: the queue, their chats, and their actions.

Events reach the page through the relay; what a person writes passes through here in
memory and is written to the socket, nothing else. Outgoing frames go through one
writer task because a WebSocket must not be written from two tasks at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
from typing import Any

from babel import Locale
from fastapi import WebSocket, WebSocketDisconnect

from bot.accounts import list_advocates, mark_online
from bot.console import auth
from bot.console.audit import record
from bot.console.canned import canned_keys, canned_replies, canned_text, hotline_card
from bot.console.frames import (
    Active,
    Claim,
    Close,
    DirectoryCard,
    DirectorySearch,
    Got,
    Hello,
    PageFrame,
    Send,
    SendCanned,
    SendCard,
    ShowMore,
    Transfer,
    Typing,
    parse_frame,
)
from bot.console.page_frames import ErrorFrame, OpenedFrame, PageBound
from bot.directory import Need, ServiceCard, render_card, resolve, search
from bot.directory.cards import hours_text
from bot.helpline import Helpline
from bot.i18n import Catalogue, catalogue
from bot.queue import OUTCOME_CODES, TicketError, clean_text
from bot.queue_listing import PAGE_SIZE, PageKey, QueueEntry
from bot.relay import (
    QUEUE_TOPIC,
    Ack,
    Closed,
    Handover,
    Left,
    Missed,
    PersonMessage,
    RelayEvent,
    RelayLink,
    Replay,
    Transferred,
    parse_event,
    ticket_topic,
)

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 20.0
ONLINE_FOR = dt.timedelta(seconds=60)
HELLO_TIMEOUT_SECONDS = 10.0
MAX_REPLY = 1_600
"""Longest advocate message: ten SMS segments; longer texts arrive broken on basic phones."""
ADVOCATE_OUTCOMES = tuple(code for code in OUTCOME_CODES if code not in ("expired", "left"))
DIRECTORY_RESULTS = 5
MAX_PLACE = 100
"""Longest place an advocate may type: a city with its region, never a paragraph."""
UNKNOWN_PLACE = "Place not recognised. Type a ZIP code or a city name, such as Houston or Toronto."


class TooLong(TicketError):
    """A reply over the limit: the page words it in the advocate's language from the numbers."""

    def __init__(self, length: int) -> None:
        super().__init__(f"not sent: the message is {length} characters, the limit is {MAX_REPLY}")
        self.length = length


class ConsoleSocket:
    def __init__(self, helpline: Helpline, socket: WebSocket, staff: auth.Staff, token: str):
        self.helpline = helpline
        self.socket = socket
        self.staff = staff
        self._token = token
        self._outbox: asyncio.Queue[PageBound | None] = asyncio.Queue()
        self._followed: dict[int, asyncio.Task[None]] = {}
        # Each chat's last directory search: service id -> the card exactly as the person
        # would receive it. In memory only, replaced by the next search, dropped with the chat.
        self._found: dict[int, dict[str, str]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._close_code = 1000
        # Opaque ticket references: the page never sees a database id it could walk.
        self._ref_key = hmac.new(
            helpline.settings.secret_key.get_secret_value().encode(),
            f"console-ticket-ref:{staff.id}".encode(),
            hashlib.sha256,
        ).digest()
        self._tickets: dict[str, int] = {}
        # The waiting tickets the page shows: a screenful, more after "show more".
        self._shown = PAGE_SIZE
        self._waiting: list[QueueEntry] = []
        self._next: PageKey | None = None
        self._newest: int | None = None

    # --- lifecycle -------------------------------------------------------------------

    async def run(self) -> None:
        """Serve this connection until the page closes or the session ends."""
        if not await self._hello():
            await self.socket.close(code=4403)
            return
        await self._heartbeat_once()
        async with self.helpline.relay.subscribe(QUEUE_TOPIC) as queue_events:
            self._tasks = [
                asyncio.create_task(self._write(), name="console-writer"),
                asyncio.create_task(self._pump_queue(queue_events), name="console-queue"),
                asyncio.create_task(self._heartbeat(), name="console-heartbeat"),
            ]
            await self._snapshot()
            try:
                await self._read()
            finally:
                writer, *others = self._tasks
                for task in [*others, *self._followed.values()]:
                    task.cancel()
                # Let the writer flush what is queued (a logout notice) and close the socket.
                self._outbox.put_nowait(None)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(writer, timeout=2)
                for task in [*others, *self._followed.values()]:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                await mark_online(self.helpline.sessions, self.staff.id, self.helpline.clock())

    async def _hello(self) -> bool:
        """The page's first frame carries the session's CSRF token: a second check beside Origin."""
        try:
            async with asyncio.timeout(HELLO_TIMEOUT_SECONDS):
                frame = await self.socket.receive_text()
        except (TimeoutError, WebSocketDisconnect, RuntimeError):
            # RuntimeError: Starlette's WebSocketDisconnected, raised when the page has
            # already gone (its name varies across Starlette versions).
            return False
        message = parse_frame(frame)
        return isinstance(message, Hello) and auth.csrf_matches(message.csrf, self.staff.csrf_token)

    async def _read(self) -> None:
        while True:
            try:
                frame = await self.socket.receive_text()
            except (WebSocketDisconnect, RuntimeError):
                return  # the page went away (RuntimeError: Starlette's WebSocketDisconnected)
            message = parse_frame(frame)
            if message is None:
                continue
            staff = await auth.staff_for(self.helpline, self._token, touch=True)
            if staff is None:
                await self._end_session()
                return
            try:
                await self._act(message)
            except TicketError as error:
                failure: ErrorFrame = {
                    "type": "error",
                    "ticket": getattr(message, "ticket", None),
                    "ref": getattr(message, "ref", None),
                    "message": str(error),
                }
                if isinstance(error, TooLong):
                    failure["length"] = error.length
                    failure["limit"] = MAX_REPLY
                self.send(failure)

    async def _write(self) -> None:
        while True:
            frame = await self._outbox.get()
            if frame is None:
                with contextlib.suppress(Exception):
                    await self.socket.close(code=self._close_code)
                return
            try:
                # ASCII JSON: a lone surrogate becomes an escape, never an encoding error.
                await self.socket.send_text(json.dumps(frame))
            except (TypeError, ValueError):
                log.warning("console frame could not be written type=%s", frame.get("type"))

    def send(self, frame: PageBound) -> None:
        self._outbox.put_nowait(frame)

    async def _end_session(self) -> None:
        """The session was revoked or went idle: tell the page, then close with 4401."""
        self._close_code = 4401
        self.send({"type": "logout"})
        self._outbox.put_nowait(None)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if await auth.staff_for(self.helpline, self._token) is None:
                await self._end_session()
                return
            await self._heartbeat_once()

    async def _heartbeat_once(self) -> None:
        until = self.helpline.clock() + ONLINE_FOR
        await mark_online(self.helpline.sessions, self.staff.id, until)

    # --- the queue -------------------------------------------------------------------

    async def _pump_queue(self, events: Any) -> None:
        async for event in events:
            link = parse_event(event)
            if isinstance(link, RelayLink):
                # The live link between workers dropped or came back: say so on the page.
                self.send({"type": "relay", "connected": bool(link.connected)})
                continue
            await self._snapshot()

    async def _snapshot(self) -> None:
        """Send the part of the queue this advocate sees, and follow the chats that are theirs.

        Only the screenful the page shows is read (``self._shown`` waiting tickets, more
        after "show more"); the totals come from one aggregate, never from reading rows.
        """
        queue = self.helpline.queue
        page = await queue.waiting_page(spoken=self.staff.languages, size=self._shown)
        self._waiting, self._next = page.entries, page.next
        arrived, self._newest = await queue.arrived_since(self._newest)
        chats = await self._send_queue(arrived)
        mine = {e.id for e in chats if e.advocate_id == self.staff.id}
        for entry in chats:
            if entry.id in mine and entry.id not in self._followed:
                # The database says this chat is ours: only now may its messages reach us.
                await self._follow(entry.id)
                self.send(await self._opened(entry))
                await self.helpline.queue.replay(entry.id)
        for ticket_id in list(self._followed):
            if ticket_id not in mine:
                self._unfollow(ticket_id)
                self.send({"type": "ended", "ticket": self._ref(ticket_id), "reason": "gone"})

    async def _show_more(self) -> None:
        """The next screenful after the last one shown, read from where that one ended."""
        if self._next is not None:
            page = await self.helpline.queue.waiting_page(
                spoken=self.staff.languages, size=PAGE_SIZE, after=self._next
            )
            self._waiting, self._next = [*self._waiting, *page.entries], page.next
            self._shown = max(PAGE_SIZE, len(self._waiting))
        await self._send_queue([])

    async def _send_queue(self, arrived: list[QueueEntry]) -> list[QueueEntry]:
        """Send the shown waiting tickets with the open chats this advocate sees; return those."""
        queue = self.helpline.queue
        chats = await queue.open_chats(advocate_id=None if self.staff.supervises else self.staff.id)
        summary = await queue.waiting_summary()
        advocates = await list_advocates(self.helpline.sessions)
        names = {a.id: a.name for a in advocates}
        now = self.helpline.clock()
        speaks = set(self.staff.languages)
        chats.sort(key=lambda e: (e.language not in speaks, not e.urgent, e.created_at))
        self.send(
            {
                "type": "queue",
                "tickets": [self._ticket_json(e, now, names) for e in [*self._waiting, *chats]],
                "waiting": sum(group.count for group in summary),
                "languages": [
                    {"language": g.language, "urgent": g.urgent, "count": g.count} for g in summary
                ],
                "more": self._next is not None,
                "arrived": [self._ticket_json(e, now, names) for e in arrived],
                "advocates": [
                    {
                        "id": a.id,
                        "name": a.name,
                        "languages": list(a.language_codes()),
                        "online": bool(a.online_until and _aware(a.online_until) > now),
                    }
                    for a in advocates
                    if a.active
                ],
            }
        )
        return chats

    def _ref(self, ticket_id: int) -> str:
        """The opaque reference the page uses for a ticket (stable for this advocate)."""
        digest = hmac.new(self._ref_key, str(ticket_id).encode(), hashlib.sha256).hexdigest()
        ref = "t" + digest[:20]
        self._tickets[ref] = ticket_id
        return ref

    def _ticket_id(self, ref: str) -> int:
        """The ticket behind a reference this socket handed out; anything else is refused."""
        ticket_id = self._tickets.get(ref)
        if ticket_id is None:
            raise TicketError("no such chat")
        return ticket_id

    def _ticket_json(
        self, entry: QueueEntry, now: dt.datetime, names: dict[int | None, str]
    ) -> dict[str, Any]:
        return {
            "id": self._ref(entry.id),
            "alias": entry.public_alias,
            "language": entry.language,
            "channel": entry.channel,
            "country": entry.country,
            "urgent": entry.urgent,
            "status": str(entry.status),
            "waiting_seconds": max(0, int((now - _aware(entry.created_at)).total_seconds())),
            "advocate": names.get(entry.advocate_id) if entry.advocate_id else None,
            "mine": entry.advocate_id == self.staff.id,
            "servable": entry.language in self.staff.languages,
        }

    async def _opened(self, entry: QueueEntry) -> OpenedFrame:
        own = self.staff.languages[0] if self.staff.languages else "en"
        default = self.helpline.settings.default_country
        discreet = await self.helpline.queue.discreet(entry.id)
        return {
            "type": "opened",
            "ticket": {
                "id": self._ref(entry.id),
                "alias": entry.public_alias,
                "language": entry.language,
                "channel": entry.channel,
                "country": entry.country,
                "urgent": entry.urgent,
            },
            "canned": [
                {"key": c.key, "person": c.person, "own": c.own}
                for c in canned_replies(entry.language, own, entry.country, default)
            ],
            "card": {
                "person": hotline_card(entry.language, entry.country, default, discreet=discreet),
                "own": hotline_card(own, entry.country, default),
            },
            "needs": [
                {"code": need.value, "label": catalogue(own).text(f"referrals.need.{need.value}")}
                for need in Need
            ],
        }

    # --- one chat --------------------------------------------------------------------

    async def _follow(self, ticket_id: int) -> None:
        """Subscribe to a chat that the database says is this advocate's."""
        ready = asyncio.Event()
        self._followed[ticket_id] = asyncio.create_task(
            self._pump_ticket(ticket_id, ready), name="console-ticket"
        )
        await ready.wait()

    def _unfollow(self, ticket_id: int) -> None:
        self._found.pop(ticket_id, None)
        task = self._followed.pop(ticket_id, None)
        if task is not None:
            task.cancel()

    async def _pump_ticket(self, ticket_id: int, ready: asyncio.Event) -> None:
        try:
            async with self.helpline.relay.subscribe(ticket_topic(ticket_id)) as events:
                ready.set()
                async for raw in events:
                    event = parse_event(raw)
                    if event is not None and await self._on_ticket_event(ticket_id, event):
                        return
        finally:
            ready.set()

    async def _on_ticket_event(self, ticket_id: int, event: RelayEvent) -> bool:
        """Pass a chat event to the page; True when the chat has ended for this advocate."""
        ref = self._ref(ticket_id)
        if isinstance(event, PersonMessage | Missed | Handover):
            # Checked again on delivery: only the advocate holding the chat now sees it.
            if await self.helpline.queue.holder(ticket_id) != self.staff.id:
                return False
            if isinstance(event, PersonMessage):
                self.send(
                    {
                        "type": "message",
                        "ticket": ref,
                        "id": event.id,
                        "text": clean_text(event.text),
                        "cut": event.cut,
                    }
                )
            elif isinstance(event, Missed):
                self.send({"type": "missed", "ticket": ref, "count": event.count})
            elif event.to == self.staff.id:
                lines = [[who, clean_text(text)] for who, text in event.lines]
                notes = clean_text(event.notes)
                self.send({"type": "handover", "ticket": ref, "lines": lines, "notes": notes})
            return False
        if isinstance(event, Closed | Left) or (
            isinstance(event, Transferred) and event.to != self.staff.id
        ):
            reason = event.kind
            if isinstance(event, Transferred) and event.to is None:
                reason = "requeued"
            self.send({"type": "ended", "ticket": ref, "reason": reason})
            self._followed.pop(ticket_id, None)
            self._found.pop(ticket_id, None)
            return True
        return False

    # --- actions ---------------------------------------------------------------------

    async def _act(self, message: PageFrame) -> None:
        if isinstance(message, Hello | Active):
            return
        if isinstance(message, Claim):
            await self._claim(message.ticket)
            return
        if isinstance(message, ShowMore):
            await self._show_more()
            return
        ticket_id = self._ticket_id(message.ticket)
        if isinstance(message, Send):
            text = clean_text(message.text)
            if len(text) > MAX_REPLY:
                raise TooLong(len(text))
            if text.strip():
                await self._deliver(ticket_id, text, message.ref)
        elif isinstance(message, SendCanned):
            await self._canned(ticket_id, message.key, message.ref)
        elif isinstance(message, SendCard):
            await self._card(ticket_id, message.ref)
        elif isinstance(message, DirectorySearch):
            await self._directory_search(ticket_id, message.need, message.place)
        elif isinstance(message, DirectoryCard):
            await self._directory_card(ticket_id, message.service, message.ref)
        elif isinstance(message, Transfer):
            await self._transfer(ticket_id, message)
        elif isinstance(message, Close):
            await self._close(ticket_id, message.outcomes)
        elif isinstance(message, Got):
            if await self.helpline.queue.holder(ticket_id) == self.staff.id:
                await self.helpline.queue.acknowledge(ticket_id, message.id)
        elif isinstance(message, Typing):
            await self.helpline.queue.typing(ticket_id=ticket_id, advocate_id=self.staff.id)

    async def _claim(self, ref: str) -> None:
        ticket_id = self._ticket_id(ref)
        holding = len(await self.helpline.queue.open_chats(advocate_id=self.staff.id))
        if holding >= await self._max_chats():
            raise TicketError("you already hold as many chats as you can")
        try:
            await self.helpline.queue.claim(ticket_id=ticket_id, advocate_id=self.staff.id)
        except TicketError:
            await record(
                self.helpline, action="claim_failed", advocate_id=self.staff.id, ticket_id=ticket_id
            )
            raise TicketError("another advocate took this chat") from None
        await record(self.helpline, action="claim", advocate_id=self.staff.id, ticket_id=ticket_id)
        # Subscribe only now that the claim is ours in the database; what the person
        # wrote in between is held by the queue and sent again on replay.
        entry = await self.helpline.queue.entry(ticket_id)
        if entry is not None and entry.advocate_id == self.staff.id:
            if ticket_id not in self._followed:
                await self._follow(ticket_id)
            self.send(await self._opened(entry))
            await self.helpline.queue.replay(ticket_id)

    async def _max_chats(self) -> int:
        advocates = await list_advocates(self.helpline.sessions)
        return next((a.max_chats for a in advocates if a.id == self.staff.id), 1)

    async def _deliver(
        self, ticket_id: int, text: str, ref: object, *, audit: tuple[str, str] | None = None
    ) -> None:
        """Send to the person; ``audit`` (action, content-free detail) is recorded once delivered."""
        ok = await self.helpline.queue.send_to_person(
            ticket_id=ticket_id, advocate_id=self.staff.id, text=text
        )
        if ok and audit is not None:
            action, detail = audit
            await record(
                self.helpline,
                action=action,
                advocate_id=self.staff.id,
                ticket_id=ticket_id,
                detail=detail,
            )
        # Only now: "sent" tells the page everything about this action is done.
        self.send({"type": "sent", "ticket": self._ref(ticket_id), "ref": ref, "ok": ok})

    async def _entry(self, ticket_id: int) -> QueueEntry:
        entry = await self.helpline.queue.entry(ticket_id)
        if entry is None or entry.advocate_id != self.staff.id:
            raise TicketError("ticket is not open")
        return entry

    async def _canned(self, ticket_id: int, key: str, ref: object) -> None:
        if key not in canned_keys():
            raise TicketError("no such canned reply")
        entry = await self._entry(ticket_id)
        text = canned_text(
            key, entry.language, entry.country, self.helpline.settings.default_country
        )
        await self._deliver(ticket_id, text, ref)

    async def _card(self, ticket_id: int, ref: object) -> None:
        entry = await self._entry(ticket_id)
        discreet = await self.helpline.queue.discreet(ticket_id)
        text = hotline_card(
            entry.language,
            entry.country,
            self.helpline.settings.default_country,
            discreet=discreet,
        )
        await self._deliver(ticket_id, text, ref)

    async def _directory_search(self, ticket_id: int, need: str, typed: str) -> None:
        """Search the referral directory near a place the advocate typed, for one of their chats.

        The place is used for this search only: it is not stored, logged, audited or put
        into an error, and the page is told "not recognised" without echoing it.
        """
        entry = await self._entry(ticket_id)
        ref = self._ref(ticket_id)
        if need not in tuple(Need):
            raise TicketError("choose a kind of help")
        text = typed[:MAX_PLACE]
        # The first lookup builds the gazetteer's index (seconds): keep it off the event loop.
        place = await asyncio.to_thread(resolve, text, country=entry.country)
        if place is None:
            self._found.pop(ticket_id, None)
            self.send({"type": "directory", "ticket": ref, "results": [], "error": UNKNOWN_PLACE})
            return
        now = self.helpline.clock()
        cards = await search(
            self.helpline.sessions,
            place=place,
            need=Need(need),
            language=entry.language,
            now=now,
            limit=DIRECTORY_RESULTS,
        )
        note = ""
        if not cards and entry.language != "en":
            # As in the person's own search: better places without their language than none.
            cards = await search(
                self.helpline.sessions,
                place=place,
                need=Need(need),
                language=None,
                now=now,
                limit=DIRECTORY_RESULTS,
            )
            if cards:
                note = "None of these lists the person's language: they may offer an interpreter."
        if not cards:
            note = "No services of this kind found near that place."
        own = catalogue(self.staff.languages[0] if self.staff.languages else "en")
        person = catalogue(entry.language)
        results = [_result(card, own, person, entry.channel) for card in cards]
        self._found[ticket_id] = {r["service"]: r["person"] for r in results}
        self.send({"type": "directory", "ticket": ref, "results": results, "note": note})

    async def _directory_card(self, ticket_id: int, service: str, ref: object) -> None:
        """Send one service from this chat's last search to the person, in their language."""
        await self._entry(ticket_id)
        found = self._found.get(ticket_id, {})
        if service not in found:
            raise TicketError("that service is not in this chat's search results: search again")
        # The service would hint where the person is: the audit says only that a card went.
        await self._deliver(ticket_id, found[service], ref, audit=("directory_card", ""))

    async def _transfer(self, ticket_id: int, message: Transfer) -> None:
        await self.helpline.queue.transfer(
            ticket_id=ticket_id,
            advocate_id=self.staff.id,
            to_advocate=message.to,
            supervisor=self.staff.supervises,
        )
        await record(
            self.helpline,
            action="transfer",
            advocate_id=self.staff.id,
            ticket_id=ticket_id,
            detail="queue" if message.to is None else f"advocate:{message.to}",
        )
        if message.to is not None and (message.lines or message.notes):
            handover = Handover(to=message.to, lines=tuple(message.lines), notes=message.notes)
            task = asyncio.create_task(self._hand_over(ticket_id, handover), name="handover")
            self._tasks.append(task)

    async def _hand_over(self, ticket_id: int, handover: Handover) -> None:
        """Offer the transcript and notes to the receiving page until it has them, for a while."""
        relay = self.helpline.relay
        topic = ticket_topic(ticket_id)
        async with relay.subscribe(topic) as events:
            await relay.publish(topic, handover.event())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.helpline.queue.hold_seconds):
                    async for raw in events:
                        event = parse_event(raw)
                        if isinstance(event, Replay):
                            await relay.publish(topic, handover.event())
                        elif (isinstance(event, Ack) and event.id == "handover") or isinstance(
                            event, Closed | Left
                        ):
                            return

    async def _close(self, ticket_id: int, outcomes: list[str]) -> None:
        if not outcomes or any(code not in ADVOCATE_OUTCOMES for code in outcomes):
            raise TicketError("choose at least one outcome")
        await self.helpline.queue.close(
            ticket_id=ticket_id,
            advocate_id=self.staff.id,
            outcomes=outcomes,
            supervisor=self.staff.supervises,
        )
        await record(
            self.helpline,
            action="close",
            advocate_id=self.staff.id,
            ticket_id=ticket_id,
            detail=",".join(outcomes),
        )


def _result(card: ServiceCard, own: Catalogue, person: Catalogue, channel: str) -> dict[str, str]:
    """One search result in the advocate's words, with the card exactly as the person gets it."""
    if card.distance_km is not None:
        distance = f"{card.distance_km:.1f} km ({card.distance_km / 1.609344:.1f} mi)"
    else:
        distance = own.text("referrals.card.area", area=card.area) if card.area else ""
    names = Locale.parse(own.language.code).languages
    spoken = ", ".join(str(names.get(code, code)) for code in card.languages)
    return {
        "service": card.service_id,
        "name": card.name,
        "distance": distance,
        "hours": hours_text(card, own),
        "languages": spoken or "No languages listed",
        "person": render_card(card, person, channel),
        "own": render_card(card, own, channel),
    }


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
