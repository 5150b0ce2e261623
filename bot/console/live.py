"""One advocate's live console connection: the queue, their chats, and their actions.

Events reach the page through the relay; what a person writes passes through here in
memory and is written to the socket, nothing else. Outgoing frames go through one
writer task because a WebSocket must not be written from two tasks at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from typing import Any

from babel import Locale
from fastapi import WebSocket, WebSocketDisconnect

from bot.accounts import list_advocates, mark_online
from bot.console import auth
from bot.console.audit import record
from bot.console.canned import canned_keys, canned_replies, canned_text, hotline_card
from bot.directory import Need, ServiceCard, render_card, resolve, search
from bot.directory.cards import hours_text
from bot.helpline import Helpline
from bot.i18n import Catalogue, catalogue
from bot.queue import OUTCOME_CODES, QueueEntry, TicketError
from bot.relay import QUEUE_TOPIC, Event, ticket_topic
from bot.states import TicketStatus

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 20.0
ONLINE_FOR = dt.timedelta(seconds=60)
HELLO_TIMEOUT_SECONDS = 10.0
MAX_FRAME = 20_000
MAX_REPLY = 1_600
"""Longest advocate message: ten SMS segments; longer texts arrive broken on basic phones."""
ADVOCATE_OUTCOMES = tuple(code for code in OUTCOME_CODES if code not in ("expired", "left"))
DIRECTORY_RESULTS = 5
MAX_PLACE = 100
"""Longest place an advocate may type: a city with its region, never a paragraph."""
UNKNOWN_PLACE = "Place not recognised. Type a ZIP code or a city name, such as Houston or Toronto."


class ConsoleSocket:
    def __init__(self, helpline: Helpline, socket: WebSocket, staff: auth.Staff, token: str):
        self.helpline = helpline
        self.socket = socket
        self.staff = staff
        self._token = token
        self._outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._followed: dict[int, asyncio.Task[None]] = {}
        # Each chat's last directory search: service id -> the card exactly as the person
        # would receive it. In memory only, replaced by the next search, dropped with the chat.
        self._found: dict[int, dict[str, str]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._close_code = 1000

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
        except (TimeoutError, WebSocketDisconnect):
            return False
        message = _parse(frame)
        token = message.get("csrf") if message else None
        return isinstance(token, str) and auth.csrf_matches(token, self.staff.csrf_token)

    async def _read(self) -> None:
        while True:
            try:
                frame = await self.socket.receive_text()
            except WebSocketDisconnect:
                return
            message = _parse(frame)
            if message is None:
                continue
            staff = await auth.staff_for(self.helpline, self._token, touch=True)
            if staff is None:
                await self._end_session()
                return
            try:
                await self._act(message)
            except TicketError as error:
                self.send(
                    {
                        "type": "error",
                        "ticket": message.get("ticket"),
                        "ref": message.get("ref"),
                        "message": str(error),
                    }
                )

    async def _write(self) -> None:
        while True:
            frame = await self._outbox.get()
            if frame is None:
                with contextlib.suppress(Exception):
                    await self.socket.close(code=self._close_code)
                return
            await self.socket.send_json(frame)

    def send(self, frame: dict[str, Any]) -> None:
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
            if event.get("type") == "relay":
                # The live link between workers dropped or came back: say so on the page.
                self.send({"type": "relay", "connected": bool(event.get("connected"))})
                continue
            await self._snapshot()

    async def _snapshot(self) -> None:
        """Send the queue as this advocate may see it, and follow the chats that are theirs."""
        entries = await self.helpline.queue.entries()
        advocates = await list_advocates(self.helpline.sessions)
        names = {a.id: a.name for a in advocates}
        now = self.helpline.clock()
        mine = {e.id for e in entries if e.advocate_id == self.staff.id}
        visible = [
            e
            for e in entries
            if self.staff.supervises or e.status == TicketStatus.WAITING or e.id in mine
        ]
        speaks = set(self.staff.languages)
        visible.sort(key=lambda e: (e.language not in speaks, not e.urgent, e.created_at))
        self.send(
            {
                "type": "queue",
                "tickets": [self._ticket_json(e, now, names) for e in visible],
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
        for entry in entries:
            if entry.id in mine and entry.id not in self._followed:
                await self._follow(entry.id)
                self.send(await self._opened(entry))
        for ticket_id in list(self._followed):
            if ticket_id not in mine:
                self._unfollow(ticket_id)
                self.send({"type": "ended", "ticket": ticket_id, "reason": "gone"})

    def _ticket_json(
        self, entry: QueueEntry, now: dt.datetime, names: dict[int | None, str]
    ) -> dict[str, Any]:
        return {
            "id": entry.id,
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

    async def _opened(self, entry: QueueEntry) -> dict[str, Any]:
        own = self.staff.languages[0] if self.staff.languages else "en"
        default = self.helpline.settings.default_country
        discreet = await self.helpline.queue.discreet(entry.id)
        return {
            "type": "opened",
            "ticket": {
                "id": entry.id,
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
        """Subscribe to a chat before it is claimed, so no message can slip past."""
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
                async for event in events:
                    if self._on_ticket_event(ticket_id, event):
                        return
        finally:
            ready.set()

    def _on_ticket_event(self, ticket_id: int, event: Event) -> bool:
        """Pass a chat event to the page; True when the chat has ended for this advocate."""
        kind = event.get("type")
        if kind == "message" and event.get("from") == "person":
            self.send({"type": "message", "ticket": ticket_id, "text": str(event.get("text", ""))})
        elif kind in ("closed", "left") or (
            kind == "transferred" and event.get("to") != self.staff.id
        ):
            self.send({"type": "ended", "ticket": ticket_id, "reason": kind})
            self._followed.pop(ticket_id, None)
            self._found.pop(ticket_id, None)
            return True
        return False

    # --- actions ---------------------------------------------------------------------

    async def _act(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        ticket_id = message.get("ticket")
        if kind == "active":
            return
        if not isinstance(ticket_id, int):
            return
        if kind == "claim":
            await self._claim(ticket_id)
        elif kind == "send":
            text = message.get("text")
            if isinstance(text, str) and text.strip():
                await self._deliver(ticket_id, text[:MAX_REPLY], message.get("ref"))
        elif kind == "canned":
            await self._canned(ticket_id, message.get("key"), message.get("ref"))
        elif kind == "card":
            await self._card(ticket_id, message.get("ref"))
        elif kind == "directory_search":
            await self._directory_search(ticket_id, message.get("need"), message.get("place"))
        elif kind == "directory_card":
            await self._directory_card(ticket_id, message.get("service"), message.get("ref"))
        elif kind == "transfer":
            await self._transfer(ticket_id, message.get("to"))
        elif kind == "close":
            await self._close(ticket_id, message.get("outcomes"))

    async def _claim(self, ticket_id: int) -> None:
        entries = await self.helpline.queue.entries()
        holding = sum(1 for e in entries if e.advocate_id == self.staff.id)
        if holding >= await self._max_chats():
            raise TicketError("you already hold as many chats as you can")
        await self._follow(ticket_id)
        try:
            await self.helpline.queue.claim(ticket_id=ticket_id, advocate_id=self.staff.id)
        except TicketError:
            self._unfollow(ticket_id)
            raise TicketError("another advocate took this chat") from None
        await record(self.helpline, action="claim", advocate_id=self.staff.id, ticket_id=ticket_id)
        entry = next((e for e in await self.helpline.queue.entries() if e.id == ticket_id), None)
        if entry is not None:
            self.send(await self._opened(entry))

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
        self.send({"type": "sent", "ticket": ticket_id, "ref": ref, "ok": ok})

    async def _entry(self, ticket_id: int) -> QueueEntry:
        for entry in await self.helpline.queue.entries():
            if entry.id == ticket_id and entry.advocate_id == self.staff.id:
                return entry
        raise TicketError("ticket is not open")

    async def _canned(self, ticket_id: int, key: object, ref: object) -> None:
        if not isinstance(key, str) or key not in canned_keys():
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

    async def _directory_search(self, ticket_id: int, need: object, typed: object) -> None:
        """Search the referral directory near a place the advocate typed, for one of their chats.

        The place is used for this search only: it is not stored, logged, audited or put
        into an error, and the page is told "not recognised" without echoing it.
        """
        entry = await self._entry(ticket_id)
        if not isinstance(need, str) or need not in tuple(Need):
            raise TicketError("choose a kind of help")
        text = typed[:MAX_PLACE] if isinstance(typed, str) else ""
        # The first lookup builds the gazetteer's index (seconds): keep it off the event loop.
        place = await asyncio.to_thread(resolve, text, country=entry.country)
        if place is None:
            self._found.pop(ticket_id, None)
            self.send(
                {"type": "directory", "ticket": ticket_id, "results": [], "error": UNKNOWN_PLACE}
            )
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
        self.send({"type": "directory", "ticket": ticket_id, "results": results, "note": note})

    async def _directory_card(self, ticket_id: int, service: object, ref: object) -> None:
        """Send one service from this chat's last search to the person, in their language."""
        await self._entry(ticket_id)
        found = self._found.get(ticket_id, {})
        if not isinstance(service, str) or service not in found:
            raise TicketError("that service is not in this chat's search results: search again")
        # The service would hint where the person is: the audit says only that a card went.
        await self._deliver(ticket_id, found[service], ref, audit=("directory_card", ""))

    async def _transfer(self, ticket_id: int, to: object) -> None:
        target = to if isinstance(to, int) else None
        await self.helpline.queue.transfer(
            ticket_id=ticket_id,
            advocate_id=self.staff.id,
            to_advocate=target,
            supervisor=self.staff.supervises,
        )
        await record(
            self.helpline,
            action="transfer",
            advocate_id=self.staff.id,
            ticket_id=ticket_id,
            detail="queue" if target is None else f"advocate:{target}",
        )

    async def _close(self, ticket_id: int, outcomes: object) -> None:
        codes = [c for c in outcomes if isinstance(c, str)] if isinstance(outcomes, list) else []
        if not codes or any(code not in ADVOCATE_OUTCOMES for code in codes):
            raise TicketError("choose at least one outcome")
        await self.helpline.queue.close(
            ticket_id=ticket_id,
            advocate_id=self.staff.id,
            outcomes=codes,
            supervisor=self.staff.supervises,
        )
        await record(
            self.helpline,
            action="close",
            advocate_id=self.staff.id,
            ticket_id=ticket_id,
            detail=",".join(codes),
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


def _parse(frame: str) -> dict[str, Any] | None:
    if len(frame) > MAX_FRAME:
        return None
    try:
        message = json.loads(frame)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
