"""Real help-line workers in their own processes, and the people who talk to them.

``Worker`` runs ``helpline serve`` (``python -m bot.cli serve``) on a free port; a
``Phone`` is the web simulator's WebSocket (a person); an ``AdvocateConsole`` logs in
to the console with password and TOTP and speaks its WebSocket. ``TcpProxy`` stands
between the workers and PostgreSQL so a test can cut the database off without
stopping the shared server; ``RedisServer`` is a private, non-persisting redis-server
that a test may stop and start again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pyotp
from websockets.asyncio.client import ClientConnection, connect

from tests import services
from tests.conftest import METRICS_TOKEN

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
START_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Worker:
    """One ``helpline serve`` process; its output goes to a log file tests can read."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"worker-{name}.log"
        self._env = env
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("HELPLINE_", "TWILIO_"))}
        base.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env = (
            base
            | {
                "HELPLINE_SECRET_KEY": SECRET_KEY,
                "HELPLINE_MODE": "test",
                "HELPLINE_METRICS_TOKEN": METRICS_TOKEN,
            }
            | self._env
        )
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "bot.cli", "serve"),
                    *("--host", "127.0.0.1", "--port", str(self.port)),
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, seconds: float = START_SECONDS) -> None:
        """Block until ``/readyz`` says the database and the relay answer."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited: {self.log()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"worker {self.name} not ready: {self.log()[-2000:]}")

    def stop(self) -> int | None:
        """SIGTERM (a graceful shutdown), then SIGKILL if it does not finish."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return process.returncode if process else None
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
            return None

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-whatever, as on an out-of-memory kill."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class TcpProxy:
    """A TCP relay to ``target`` that a test can cut (refuse and drop) and restore."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.port = free_port()
        self._target = (target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self.black_hole = False
        """While set, bytes are swallowed both ways and new links never reach the target:
        a server that drops packets rather than refusing them."""

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    def cut(self) -> None:
        """Stop listening and drop every open connection, as a crashed server would."""
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _call(self, coroutine: Any) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._link, "127.0.0.1", self.port)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in tuple(self._links):
            writer.transport.abort()
        self._links.clear()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.black_hole:
            self._links.add(writer)
            while await reader.read(65536):
                pass  # swallowed: the client waits for an answer that never comes
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._links |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                if self.black_hole:
                    continue
                writer.write(chunk)
                await writer.drain()
        finally:
            self._links.discard(writer)
            writer.transport.abort()


class RedisServer:
    """A private redis-server on a free port; it writes nothing to disk unless ``persist``
    (an append-only file, so its keys survive a restart as an operator's might)."""

    def __init__(
        self,
        work_dir: Path,
        *,
        persist: bool = False,
        options: Sequence[str] = (),
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = work_dir
        self._persist = persist
        self._options = tuple(options)
        """More of redis-server's options (a password); later ones win."""
        if tls is not None:  # TLS only, on the port: a certificate chain file and its key
            chain, key = tls
            self._options += ("--port", "0", "--tls-port", str(self.port))
            self._options += ("--tls-cert-file", str(chain), "--tls-key-file", str(key))
            self._options += ("--tls-auth-clients", "no")
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def binary() -> str | None:
        return shutil.which("redis-server")

    def start(self) -> None:
        binary = self.binary()
        assert binary is not None
        self._process = subprocess.Popen(
            [
                *(binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--dir", str(self._dir)),
                *("--appendonly", "yes" if self._persist else "no", "--appendfsync", "always"),
                *self._options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@contextlib.contextmanager
def running_redis(work_dir: Path, **options: Any) -> Iterator[RedisServer]:
    """A private redis-server for one test (``RedisServer``'s options), stopped after it;
    the test is skipped where there is no redis-server (and fails in CI)."""
    services.require("redis-server", RedisServer.binary() is not None)
    server = RedisServer(work_dir, **options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def eventually(check: Callable[[], Any], seconds: float = 10.0, interval: float = 0.1) -> Any:
    """Call ``check`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


class Frames:
    """Frames from a WebSocket, read in the background and waited for by kind."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.seen: list[dict[str, Any]] = []
        self.closed = asyncio.Event()
        self._arrived = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                frame = json.loads(raw)
                async with self._arrived:
                    self.seen.append(frame)
                    self._arrived.notify_all()
        except Exception:  # noqa: S110 - the socket closed; waiters see ``closed``
            pass
        finally:
            self.closed.set()
            async with self._arrived:
                self._arrived.notify_all()

    async def wait(
        self, match: Callable[[dict[str, Any]], bool], seconds: float = 10.0, *, after: int = 0
    ) -> dict[str, Any]:
        """The first frame from index ``after`` on that ``match`` accepts."""
        async with asyncio.timeout(seconds), self._arrived:
            while True:
                for frame in self.seen[after:]:
                    if match(frame):
                        return frame
                if self.closed.is_set():
                    raise AssertionError("socket closed while waiting")
                await self._arrived.wait()

    async def close(self) -> None:
        await self.socket.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


class Phone:
    """A person on the web simulator of one worker."""

    def __init__(self, frames: Frames) -> None:
        self.frames = frames

    @classmethod
    async def open(cls, worker: Worker) -> Phone:
        socket = await connect(worker.url.replace("http", "ws", 1) + "/simulator/ws")
        return cls(Frames(socket))

    async def say(self, text: str = "", *, choice: str | None = None) -> list[str]:
        """Send a message; return the texts of the bot's direct answer."""
        mark = len(self.frames.seen)
        message: dict[str, Any] = {"text": text, "style": "sms"}
        if choice:
            message["choice"] = choice
        await self.frames.socket.send(json.dumps(message))
        frame = await self.frames.wait(lambda f: not f.get("pushed"), after=mark)
        return [reply["text"] for reply in frame["replies"]]

    async def pushed(self, containing: str, seconds: float = 10.0) -> str:
        """Wait for a message pushed to this phone (from an advocate or the queue)."""
        frame = await self.frames.wait(
            lambda f: bool(f.get("pushed")) and any(containing in r["text"] for r in f["replies"]),
            seconds,
        )
        return " ".join(reply["text"] for reply in frame["replies"])

    async def join_queue(self) -> None:
        await self.say("hello")
        await self.say(choice="talk")
        answer = await self.say(choice="talk:yes")
        assert any("in line" in text for text in answer), answer


class AdvocateConsole:
    """An advocate logged in to the console of one worker, on its live WebSocket."""

    def __init__(self, worker: Worker, cookie: str, csrf: str) -> None:
        self.worker = worker
        self.cookie = cookie
        self.csrf = csrf
        self.frames: Frames | None = None
        self.known: set[str] = set()
        """Tickets already in the line when this console first looked (earlier tests')."""

    @classmethod
    async def log_in(cls, worker: Worker, name: str, password: str, totp: str) -> AdvocateConsole:
        async with httpx.AsyncClient(base_url=worker.url, follow_redirects=False) as client:
            page = await client.get("/console/login")
            login_csrf = _hidden_csrf(page.text)
            answer = await client.post(
                "/console/login",
                data={
                    "name": name,
                    "password": password,
                    "code": pyotp.TOTP(totp).now(),
                    "csrf": login_csrf,
                },
                headers={"Cookie": _cookie_header(page)},
            )
            assert answer.status_code == 303, answer.status_code
            cookie = _cookie_header(answer, skip="helpline_login_csrf")
            console = await client.get("/console", headers={"Cookie": cookie})
            assert console.status_code == 200, console.status_code
            found = re.search(r'name="csrf-token" content="([^"]+)"', console.text)
            assert found is not None
        return cls(worker, cookie, found.group(1))

    async def connect(self) -> Frames:
        """Open the live WebSocket (again, after a drop) and wait for the first queue."""
        if self.frames is not None:
            await self.frames.close()
        socket = await connect(
            self.worker.url.replace("http", "ws", 1) + "/console/ws",
            origin=self.worker.url,  # type: ignore[arg-type]
            additional_headers={"Cookie": self.cookie},
        )
        self.frames = Frames(socket)
        await socket.send(json.dumps({"type": "hello", "csrf": self.csrf}))
        first = await self.frames.wait(lambda f: f.get("type") == "queue")
        if not self.known:
            self.known = {str(t["alias"]) for t in first["tickets"]}
        return self.frames

    # The console names tickets by references that hold for one socket only; tests name
    # them by their public alias, which holds across sockets and workers.

    def ref(self, alias: str) -> str:
        """This socket's reference for the ticket with this public alias."""
        assert self.frames is not None
        for frame in reversed(self.frames.seen):
            for ticket in _tickets_in(frame):
                if ticket.get("alias") == alias:
                    return str(ticket["id"])
        raise AssertionError(f"no ticket {alias!r} on this socket")

    def alias(self, ref: object) -> str | None:
        """The public alias behind one of this socket's references."""
        assert self.frames is not None
        for frame in reversed(self.frames.seen):
            for ticket in _tickets_in(frame):
                if ticket.get("id") == ref:
                    return str(ticket["alias"])
        return None

    async def act(self, **message: Any) -> int:
        """Send one action (``ticket`` by public alias); return the frame index to wait from."""
        assert self.frames is not None
        if "ticket" in message:
            message["ticket"] = self.ref(message["ticket"])
        mark = len(self.frames.seen)
        await self.frames.socket.send(json.dumps(message))
        return mark

    async def waiting_ticket(self) -> str:
        """The public alias of a ticket that joined the line since this console last asked."""
        assert self.frames is not None
        exclude = set(self.known)

        def waiting(frame: dict[str, Any]) -> bool:
            return frame.get("type") == "queue" and any(
                t["status"] == "waiting" and t["alias"] not in exclude for t in frame["tickets"]
            )

        frame = await self.frames.wait(lambda f: waiting(f), seconds=10)
        ticket = str(
            next(
                t["alias"]
                for t in frame["tickets"]
                if t["status"] == "waiting" and t["alias"] not in exclude
            )
        )
        self.known.add(ticket)
        return ticket

    async def close(self) -> None:
        if self.frames is not None:
            await self.frames.close()


def _tickets_in(frame: dict[str, Any]) -> list[dict[str, Any]]:
    if frame.get("type") == "queue":
        return list(frame.get("tickets", []))
    if frame.get("type") == "opened" and isinstance(frame.get("ticket"), dict):
        return [frame["ticket"]]
    return []


def _hidden_csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _cookie_header(response: httpx.Response, skip: str | None = None) -> str:
    """Cookies from Set-Cookie as a Cookie header (they may be Secure: we are on loopback)."""
    pairs = []
    for header in response.headers.get_list("set-cookie"):
        pair = header.split(";", 1)[0]
        name, _, value = pair.partition("=")
        if name != skip and value and value != '""':
            pairs.append(pair)
    return "; ".join(pairs)
