"""Scenario: the console's sign-in flooded while SMS traffic runs.

Abuse must never starve the people: 64 parallel sign-in attempts with unknown names
(each would cost an argon2 hash without the per-address throttle and the hashing limit)
run against the same server while wrk sends signed SMS webhooks. The figures are the
SMS p99 and the worker's memory, flooded against quiet, measured in the same run.
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from bench import wrk
from bench.env import (
    TWILIO_SID,
    TWILIO_TOKEN,
    Backend,
    FakeCarrierProcess,
    free_port,
    helpline_env,
    serving,
)
from bench.options import Options
from bench.traffic import SMS_PATH, write_sms_requests

PARALLEL = 64
SIGNATURE = "X-Twilio-Signature"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class SignInFlood:
    """``PARALLEL`` threads posting sign-ins with unknown names until stopped."""

    def __init__(self, base: str, parallel: int = PARALLEL) -> None:
        self.base = base
        self.statuses: Counter[int] = Counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._attack, args=(n,), daemon=True) for n in range(parallel)
        ]

    def __enter__(self) -> SignInFlood:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _attack(self, n: int) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            attempt = 0
            while not self._stop.is_set():
                attempt += 1
                try:
                    page = client.get("/console/login")
                    found = _CSRF.search(page.text)
                    answer = client.post(
                        "/console/login",
                        data={
                            "name": f"nobody-{n}-{attempt}",
                            "password": "not-a-password-at-all",
                            "code": "000000",
                            "csrf": found.group(1) if found else "",
                        },
                    )
                    status = answer.status_code
                except httpx.HTTPError:
                    status = 0
                with self._lock:
                    self.statuses[status] += 1


def run(backend: Backend, options: Options) -> dict[str, Any]:
    """SMS alone, then SMS under the sign-in flood, on one server."""
    with tempfile.TemporaryDirectory(prefix="helpline-bench-signin-") as work:
        port = free_port()
        url = f"http://127.0.0.1:{port}{SMS_PATH}"
        count = options.requests_for(options.seconds)

        def requests(name: str, start: int, how_many: int) -> Path:
            return write_sms_requests(
                Path(work, name),
                count=how_many,
                url=url,
                token=TWILIO_TOKEN,
                account_sid=TWILIO_SID,
                start=start,
            )

        warmup = requests("warm.txt", 70_000_000, options.warmup_requests)
        quiet_bodies = requests("quiet.txt", 71_000_000, count)
        flooded_bodies = requests("flooded.txt", 72_000_000, count)
        backend.create()
        try:
            with FakeCarrierProcess() as carrier:
                env = helpline_env(backend, port, twilio_api=carrier.url, telegram_api=None)
                with serving("bot.asgi:app", workers=backend.workers, env=env, port=port) as server:

                    def load(bodies: Path, seconds: float) -> wrk.LoadResult:
                        return wrk.run(
                            server.url,
                            SMS_PATH,
                            bodies,
                            connections=options.connections,
                            seconds=seconds,
                            header=SIGNATURE,
                        )

                    load(warmup, options.warmup_seconds)
                    quiet = load(quiet_bodies, options.seconds)
                    rss_quiet = max(server.rss_mb())
                    with SignInFlood(server.url) as flood:
                        flooded = load(flooded_bodies, options.seconds)
                        rss_flooded = max(server.rss_mb())
        finally:
            backend.drop()
    ratio = flooded.p99_ms / quiet.p99_ms if quiet.p99_ms else 0.0
    delta = rss_flooded - rss_quiet
    valid = not (quiet.errors or quiet.non_2xx or flooded.errors or flooded.non_2xx)
    return {
        "parallel": PARALLEL,
        "quiet": quiet.as_dict(),
        "flooded": flooded.as_dict(),
        "p99_ratio": round(ratio, 2),
        "rss_quiet_mb": round(rss_quiet, 1),
        "rss_flooded_mb": round(rss_flooded, 1),
        "rss_delta_mb": round(delta, 1),
        "signin_statuses": {str(code): n for code, n in sorted(flood.statuses.items())},
        "valid": valid,
    }
