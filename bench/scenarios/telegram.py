"""Scenario 2: the Telegram webhook, timed until the reply reaches the fake Bot API."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.env import (
    PYTHON,
    ROOT,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    Backend,
    FakeCarrierProcess,
    bare_env,
    free_port,
    helpline_env,
    serving,
)
from bench.options import Options
from bench.traffic import TELEGRAM_PATH, write_telegram_requests


def run(backend: Backend, options: Options) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="helpline-bench-tg-") as work:
        count = options.requests_for(options.seconds + options.warmup_seconds) // 2
        updates = write_telegram_requests(Path(work, "tg.txt"), count=count, secret=TELEGRAM_SECRET)
        bare = _measure(work, "bare", updates, options, backend)
        backend.create()
        try:
            line = _measure(work, "helpline", updates, options, backend)
        finally:
            backend.drop()
    ratio = line["rps"] / bare["rps"] if bare["rps"] else 0.0
    return {
        "requests_prepared": count,
        "bare": bare,
        "helpline": line,
        "throughput_ratio": round(ratio, 3),
        "p99_ratio": round(line["p99_ms"] / bare["p99_ms"], 2) if bare["p99_ms"] else 0.0,
        "valid": not line["errors"] and not line["non_2xx"],
        "latency": "post of the update to the first sendMessage reaching the fake Bot API",
    }


def _measure(
    work: str, which: str, updates: Path, options: Options, backend: Backend
) -> dict[str, Any]:
    fake_port = free_port()
    port = free_port()
    fake_url = f"http://127.0.0.1:{fake_port}"
    spec: dict[str, Any] = {
        "fake_port": fake_port,
        "requests": str(updates),
        "target": f"http://127.0.0.1:{port}{TELEGRAM_PATH}",
        "ready_url": f"http://127.0.0.1:{port}/healthz",
        "connections": options.connections,
        "seconds": options.seconds,
        "warmup_seconds": options.warmup_seconds,
        "warmup_share": 0.15,
        "out": str(Path(work, f"{which}.json")),
    }
    spec_path = Path(work, f"{which}-spec.json")
    spec_path.write_text(json.dumps(spec))
    generator = subprocess.Popen(
        [PYTHON, "-m", "bench.loadgen", str(spec_path)], cwd=ROOT, env=bare_env()
    )
    try:
        if which == "bare":
            env = bare_env() | {
                "BENCH_TELEGRAM_API": fake_url,
                "BENCH_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
            }
            app = "bench.bare:app"
        else:
            env = helpline_env(backend, port, twilio_api=None, telegram_api=fake_url)
            app = "bot.asgi:app"
        with FakeCarrierProcess() as twilio:
            if which == "helpline":
                env["TWILIO_API_BASE_URL"] = twilio.url
            with serving(app, workers=backend.workers, env=env, port=port):
                generator.wait(timeout=options.seconds + options.warmup_seconds + 180)
    finally:
        if generator.poll() is None:
            generator.kill()
            generator.wait()
    result: dict[str, Any] = json.loads(Path(spec["out"]).read_text())
    return result
