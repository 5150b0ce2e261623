"""A fake Twilio REST API on 127.0.0.1, served by uvicorn in a thread.

It answers the two calls the help line makes — ``Messages.create`` and a message's
``DELETE`` — as Twilio documents them, records every call, and can be told to fail
(``21610``, ``21211``, a 5xx) or to hang so that time-outs can be tested. The real
``twilio`` client talks to it through ``TWILIO_API_BASE_URL``.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from xml.etree import ElementTree

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
MESSAGING_SERVICE_SID = "MG" + "1" * 32

_sids = itertools.count(1)


def new_sid() -> str:
    return f"SM{next(_sids):032x}"


@dataclass(slots=True)
class Created:
    """One ``Messages.create`` call as Twilio received it."""

    sid: str
    to: str
    body: str
    status_callback: str | None
    messaging_service_sid: str | None
    from_: str | None


@dataclass(slots=True)
class Trouble:
    """What the next matching calls get instead of success."""

    status: int = 0
    code: int | None = None
    hang_seconds: float = 0.0
    times: int = 1


@dataclass
class FakeTwilio:
    url: str = ""
    created: list[Created] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=lambda: {"create": 0, "delete": 0})
    messages: set[str] = field(default_factory=set)
    """Message records that exist at the 'carrier' (inbound, TwiML and API-created)."""
    media_fetches: list[str] = field(default_factory=list)
    """Every GET of a media URL: the help line must never make one."""
    delete_arrivals: list[tuple[str, float]] = field(default_factory=list)
    """(sid, ``time.monotonic()``) of every DELETE as it reached the fake, whatever its fate."""
    _deletes_open: threading.Event = field(default_factory=lambda: _opened(threading.Event()))
    _trouble: dict[str, list[Trouble]] = field(default_factory=lambda: {"create": [], "delete": []})
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what tests tell the fake ----------------------------------------------------

    def fail(self, action: str, *, status: int, code: int | None = None, times: int = 1) -> None:
        """Answer the next ``times`` ``action`` calls ("create" or "delete") with an error."""
        with self._lock:
            self._trouble[action].append(Trouble(status=status, code=code, times=times))

    def hold_deletes(self) -> None:
        """Keep every DELETE waiting (unanswered) until ``release_deletes``."""
        self._deletes_open.clear()

    def release_deletes(self) -> None:
        self._deletes_open.set()

    def hang(self, action: str, *, seconds: float, times: int = 1) -> None:
        """Hold the next ``times`` ``action`` calls for ``seconds`` before answering."""
        with self._lock:
            self._trouble[action].append(Trouble(hang_seconds=seconds, times=times))

    def receive(self, sid: str) -> None:
        """Record a message Twilio stored on its side (an inbound SMS, a TwiML reply)."""
        with self._lock:
            self.messages.add(sid)

    def bodies_to(self, number: str) -> list[str]:
        return [call.body for call in self.created if call.to == number]

    # --- the API ---------------------------------------------------------------------

    def _next_trouble(self, action: str) -> Trouble | None:
        with self._lock:
            self.attempts[action] += 1
            queue = self._trouble[action]
            if not queue:
                return None
            trouble = queue[0]
            trouble.times -= 1
            if trouble.times <= 0:
                queue.pop(0)
            return trouble

    def app(self) -> FastAPI:
        api = FastAPI()
        base = "/2010-04-01/Accounts/{account}/Messages"

        @api.get("/2010-04-01/Accounts/{account}.json")
        async def account(account: str, request: Request) -> Response:
            refused = _refuse(account, request)
            if refused is not None:
                return refused
            return JSONResponse(
                {"sid": account, "status": "active", "type": "Full", "friendly_name": "fake"}
            )

        @api.post(base + ".json")
        async def create(account: str, request: Request) -> Response:
            refused = _refuse(account, request)
            if refused is not None:
                return refused
            form = await request.form()
            trouble = self._next_trouble("create")
            if trouble is not None:
                # Like Twilio's own messages, the error quotes the number it refused.
                answer = await _troubled(trouble, f"The 'To' number {form.get('To')} is refused.")
                if answer is not None:
                    return answer
            sid = new_sid()
            call = Created(
                sid=sid,
                to=str(form.get("To", "")),
                body=str(form.get("Body", "")),
                status_callback=_opt(form.get("StatusCallback")),
                messaging_service_sid=_opt(form.get("MessagingServiceSid")),
                from_=_opt(form.get("From")),
            )
            with self._lock:
                self.created.append(call)
                self.messages.add(sid)
            return JSONResponse(
                {
                    "sid": sid,
                    "account_sid": account,
                    "to": call.to,
                    "from": call.from_,
                    "messaging_service_sid": call.messaging_service_sid,
                    "body": call.body,
                    "status": "accepted" if call.messaging_service_sid else "queued",
                    "direction": "outbound-api",
                    "num_segments": "1",
                    "num_media": "0",
                    "api_version": "2010-04-01",
                    "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
                },
                status_code=201,
            )

        @api.delete(base + "/{sid}.json")
        async def delete(account: str, sid: str, request: Request) -> Response:
            with self._lock:
                self.delete_arrivals.append((sid, time.monotonic()))
            refused = _refuse(account, request)
            if refused is not None:
                return refused
            if not self._deletes_open.is_set():
                await asyncio.to_thread(self._deletes_open.wait)
            trouble = self._next_trouble("delete")
            if trouble is not None:
                answer = await _troubled(trouble)
                if answer is not None:
                    return answer
            with self._lock:
                if sid not in self.messages:
                    return _error(404, 20404, "The requested resource was not found")
                self.messages.discard(sid)
                self.deleted.append(sid)
            return Response(status_code=204)

        @api.get("/media/{name}")
        async def media(name: str) -> Response:
            with self._lock:
                self.media_fetches.append(name)
            return Response(b"\xff\xd8", media_type="image/jpeg")

        return api


def _opened(event: threading.Event) -> threading.Event:
    event.set()
    return event


def _refuse(account: str, request: Request) -> Response | None:
    expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    if account != ACCOUNT_SID or request.headers.get("authorization") != expected:
        return _error(401, 20003, "Authenticate")
    return None


async def _troubled(trouble: Trouble, message: str = "Simulated failure") -> Response | None:
    if trouble.hang_seconds:
        await asyncio.sleep(trouble.hang_seconds)
        return None
    return _error(trouble.status, trouble.code, message)


def _error(status: int, code: int | None, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )


def _opt(value: object) -> str | None:
    return str(value) if value else None


class Server:
    """uvicorn in a daemon thread on a socket we bound ourselves, so the port is free."""

    def __init__(self, app: FastAPI) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        host, port = self._socket.getsockname()
        self.url = f"http://{host}:{port}"
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Twilio API did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


@contextmanager
def running_fake() -> Iterator[FakeTwilio]:
    """A fresh fake Twilio REST API over real HTTP, for one test (use it in a fixture)."""
    fake = FakeTwilio()
    server = Server(fake.app())
    server.start()
    fake.url = server.url
    try:
        yield fake
    finally:
        fake.release_deletes()  # never leave a held request's thread waiting
        server.stop()


def inbound_sid() -> str:
    return "SM" + secrets.token_hex(16)


# --- the carrier side: a phone that texts the help line through "Twilio" --------------

PUBLIC_URL = "https://helpline.example.org"
HELPLINE_NUMBER = "+15005550006"


def twilio_settings(fake: FakeTwilio, **overrides: object) -> dict[str, object]:
    """Environment values that point the help line at ``fake``."""
    values: dict[str, object] = {
        "HELPLINE_PUBLIC_URL": PUBLIC_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_MESSAGING_SERVICE_SID": MESSAGING_SERVICE_SID,
        "TWILIO_API_BASE_URL": fake.url,
    }
    values.update(overrides)
    return values


def sign(
    path: str, params: dict[str, str], *, url: str | None = None, token: str = AUTH_TOKEN
) -> str:
    """The X-Twilio-Signature Twilio would send, from twilio's own RequestValidator."""
    return str(RequestValidator(token).compute_signature(url or PUBLIC_URL + path, params))


async def post_signed(
    client: httpx.AsyncClient, path: str, params: dict[str, str], **signing: str
) -> httpx.Response:
    headers = {"X-Twilio-Signature": sign(path, params, **signing)}
    return await client.post(path, data=params, headers=headers)


@dataclass(frozen=True, slots=True)
class Texted:
    """One <Message> of a TwiML answer."""

    body: str
    action: str | None


def read_twiml(xml: str) -> list[Texted]:
    root = ElementTree.fromstring(xml)  # noqa: S314 - our own app's TwiML
    assert root.tag == "Response"
    return [Texted(body=m.text or "", action=m.get("action")) for m in root.iter("Message")]


class Phone:
    """A person's phone texting the help line; Twilio in between signs every webhook."""

    def __init__(self, client: httpx.AsyncClient, fake: FakeTwilio, number: str) -> None:
        self.client = client
        self.fake = fake
        self.number = number
        self.undelivered: list[tuple[str, str]] = []
        """(sid, status callback URL) of TwiML replies Twilio has not reported on yet."""

    def inbound_params(self, body: str, sid: str, media: Sequence[str] = ()) -> dict[str, str]:
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "MessagingServiceSid": MESSAGING_SERVICE_SID,
            "From": self.number,
            "To": HELPLINE_NUMBER,
            "Body": body,
            "NumMedia": str(len(media)),
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }
        for index, name in enumerate(media):
            params[f"MediaUrl{index}"] = f"{self.fake.url}/media/{name}"
            params[f"MediaContentType{index}"] = "image/jpeg"
        return params

    async def text(
        self, body: str = "", *, sid: str | None = None, media: Sequence[str] = ()
    ) -> list[str]:
        """Send an SMS (or MMS); return the bodies of the TwiML reply as the phone shows them."""
        sid = sid or inbound_sid()
        self.fake.receive(sid)
        response = await post_signed(
            self.client, "/webhooks/twilio/sms", self.inbound_params(body, sid, media)
        )
        assert response.status_code == 200, response.status_code
        assert response.headers["content-type"].startswith("application/xml")
        texted = read_twiml(response.text)
        for message in texted:
            reply_sid = new_sid()
            self.fake.receive(reply_sid)
            if message.action:
                self.undelivered.append((reply_sid, message.action))
        return [message.body for message in texted]

    async def delivered(self, status: str = "delivered") -> list[str]:
        """Twilio reports every TwiML reply as ``status``; return their sids."""
        sids = []
        for sid, action in self.undelivered:
            path = urlsplit(action).path
            params = status_params(sid, status, to=self.number)
            response = await post_signed(self.client, path, params, url=action)
            assert response.status_code == 204
            sids.append(sid)
        self.undelivered.clear()
        return sids


def status_params(
    sid: str, status: str, *, to: str, error_code: str | None = None
) -> dict[str, str]:
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": ACCOUNT_SID,
        "From": HELPLINE_NUMBER,
        "To": to,
        "ApiVersion": "2010-04-01",
    }
    if error_code:
        params["ErrorCode"] = error_code
    return params


async def eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait until ``check()`` holds (background deletions run after the webhook answers)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
