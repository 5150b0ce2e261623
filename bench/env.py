"""Where a benchmark runs: a private database, the servers under test, their memory.

Every server is a real uvicorn process on 127.0.0.1, started with the same flags as
``helpline serve``; every database is private to one run and removed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.migrate import migrate

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
"""A dedicated Redis database number: the workers' message-id claims and version keys
(``bot/coherence.py``) go there, and each scenario deletes its own when it drops its database."""

TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "bench-twilio-auth-token-0123456789"
TELEGRAM_TOKEN = "123456:bench-telegram-token-abcdefghij"
TELEGRAM_SECRET = "bench-telegram-webhook-secret"
SECRET_KEY = "bench-secret-key-" + "0123456789abcdef" * 3
SETTINGS: dict[str, str] = {}
"""Help-line settings for every server of this run (``python -m bench --set KEY=VALUE``),
to compare a setting's two values back to back; the caller's own HELPLINE_* are ignored."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Backend:
    """One storage configuration: SQLite with one worker, or PostgreSQL + Redis with two."""

    name: str
    workers: int
    database_url: str = ""
    redis_url: str | None = None
    _cleanup: list[str] = field(default_factory=list)
    _tmpdir: str | None = None
    _pg_name: str | None = None

    def create(self) -> None:
        """Make a fresh, migrated database for one scenario."""
        self.drop()
        if self.name == "sqlite":
            self._tmpdir = tempfile.mkdtemp(prefix="helpline-bench-")
            self.database_url = f"sqlite+aiosqlite:///{self._tmpdir}/helpline.db"
        else:
            from tests import services

            self._pg_name = services.create_database()
            self.database_url = services.postgres_url(self._pg_name)
        asyncio.run(migrate(self.database_url))

    def drop(self) -> None:
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        if self._pg_name:
            from tests import services

            services.drop_database(self._pg_name)
            self._pg_name = None
            if self.redis_url:
                _forget_in_redis(self.redis_url, self.database_url)


def _forget_in_redis(redis_url: str, database_url: str) -> None:
    """Delete the keys the workers of this (dropped) database kept in Redis, and no others."""
    import redis

    from bot.redis_relay import relay_namespace

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{relay_namespace(database_url)}:*", count=10_000))
        for start in range(0, len(keys), 10_000):
            client.unlink(*keys[start : start + 10_000])
    finally:
        client.close()


def sqlite_backend() -> Backend:
    return Backend("sqlite", workers=1)


def postgres_backend() -> Backend:
    return Backend("postgres+redis", workers=2, redis_url=REDIS_URL)


def helpline_env(
    backend: Backend, port: int, *, twilio_api: str | None, telegram_api: str | None
) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HELPLINE_", "TWILIO_", "TELEGRAM_"))
    }
    env.update(
        HELPLINE_MODE="serve",
        HELPLINE_SECRET_KEY=SECRET_KEY,
        HELPLINE_DATABASE_URL=backend.database_url,
        HELPLINE_PUBLIC_URL=f"http://{HOST}:{port}",
        HELPLINE_LOG_LEVEL="WARNING",
        TWILIO_ACCOUNT_SID=TWILIO_SID,
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        TWILIO_FROM_NUMBER="+15550100000",
        PYTHONPATH=str(ROOT),
    )
    if twilio_api:
        env["TWILIO_API_BASE_URL"] = twilio_api
    if telegram_api:
        env.update(
            TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
            TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
            TELEGRAM_API_BASE_URL=telegram_api,
        )
    if backend.redis_url:
        env["HELPLINE_REDIS_URL"] = backend.redis_url
    env.update(SETTINGS)
    return env


class Server:
    """A uvicorn process (and its workers) serving one ASGI app on a free loopback port."""

    def __init__(self, app: str, *, workers: int, env: dict[str, str], port: int) -> None:
        self.app = app
        self.workers = workers
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self._env = env
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()

    def start(self, ready_path: str = "/healthz", timeout: float = 60.0) -> None:
        command = [PYTHON, "-m", "bench.serve", self.app, HOST, str(self.port), str(self.workers)]
        self._process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.app} exited at start:\n{self.output()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + ready_path, timeout=1).status_code == 200:
                    time.sleep(0.3 * self.workers)  # let every worker finish its start-up
                    return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.app} did not answer within {timeout:.0f} s")

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the children with several workers, else itself."""
        assert self._process is not None
        children = _children(self._process.pid)
        return children if self.workers > 1 and children else [self._process.pid]

    def rss_mb(self) -> list[float]:
        return [_rss_kb(pid) / 1024 for pid in self.worker_pids()]

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=5)
        self._process = None
        self._log.close()


@contextlib.contextmanager
def serving(
    app: str, *, workers: int, env: dict[str, str], port: int | None = None
) -> Iterator[Server]:
    server = Server(app, workers=workers, env=env, port=port or free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def bare_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    return env


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(child) for child in path.read_text().split()]
    except OSError:
        return []


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


SERVICES = {"postgres": "postgres", "redis": "redis-server"}
"""The local servers a message may cost CPU in, by the name the kernel gives their processes."""


class CpuMeter:
    """CPU seconds spent by a server's workers and by the local database servers while a
    load runs, per request answered: where a message's cost goes, in a figure that does
    not move with how many requests the machine could serve in those seconds.

    Read from ``/proc/<pid>/stat`` (user and system time). The PostgreSQL and Redis
    figures count every process of those names on the machine, so they hold only while
    nothing else uses them (true of this benchmark's machine).
    """

    def __init__(self, server: Server) -> None:
        self._workers = server.worker_pids()
        self._start = self._read()

    def per_request_us(self, requests: int) -> dict[str, float]:
        """Microseconds of CPU per request since this meter was made, by process group.

        A process that started meanwhile (a new database connection) counts whole."""
        now = self._read()
        return {
            name: round(
                1e6
                * sum(spent - self._start[name].get(pid, 0.0) for pid, spent in now[name].items())
                / max(requests, 1),
                1,
            )
            for name in now
        }

    def _read(self) -> dict[str, dict[int, float]]:
        groups = {"workers": self._workers}
        groups.update({name: _pids_named(command) for name, command in SERVICES.items()})
        return {name: {pid: _cpu_seconds(pid) for pid in pids} for name, pids in groups.items()}


def _cpu_seconds(pid: int) -> float:
    """User plus system time of one process; 0 once it has gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pids_named(command: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == command:
                    found.append(int(entry.name))
    return found


def machine() -> dict[str, object]:
    """What the figures were measured on, and how busy it was."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "python": sys.version.split()[0],
        "run_id": secrets.token_hex(4),
    }


class FakeCarrierProcess:
    """``bench.fakes`` in its own process, so the carrier does not share the generator's CPU."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> FakeCarrierProcess:
        self._process = subprocess.Popen(
            [PYTHON, "-m", "bench.fakes", str(self.port)],
            cwd=ROOT,
            env=bare_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("fake carriers did not start")

    def counts(self) -> dict[str, int]:
        with contextlib.suppress(httpx.HTTPError):
            counts: dict[str, int] = httpx.get(self.url + "/healthz", timeout=2).json()["counts"]
            return counts
        return {}

    def __exit__(self, *_: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._process = None
