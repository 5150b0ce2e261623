"""A closed-loop generator for webhooks whose answer arrives later, at the carrier.

Run as its own process: ``python -m bench.loadgen SPEC.json``. It serves the fake Bot
API in this process, waits for the server under test, then keeps ``connections``
workers busy: each posts one update and waits until the reply for that chat reaches
the fake. Latency is post-to-first-reply; throughput counts answered updates. Every
sender belongs to one worker, so one chat never has two turns in flight. The result is
written as JSON to the spec's ``out`` path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.fakes import FakeCarriers

REPLY_TIMEOUT = 10.0


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Waiters:
    """Futures keyed by chat id, resolved when the fake receives a message for that chat."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[float]] = {}

    def expect(self, key: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        return future

    def arrived(self, key: str) -> None:
        future = self._waiting.pop(key, None)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())


async def _drive(spec: dict[str, Any], lines: list[str]) -> dict[str, Any]:
    waiters = Waiters()
    fake = FakeCarriers(on_arrival=waiters.arrived)
    await fake.start(spec["fake_port"])
    per_worker: list[list[tuple[str, str, str]]] = [[] for _ in range(spec["connections"])]
    for line in lines:
        secret, body = line.split("\t", 1)
        chat = str(json.loads(body)["message"]["chat"]["id"])
        per_worker[hash(chat) % spec["connections"]].append((secret, body, chat))
    target = spec["target"]
    if not target.startswith("http://127.0.0.1:"):
        raise ValueError("benchmarks target loopback only")
    latencies: list[float] = []
    failures = {"status": 0, "timeout": 0, "error": 0}
    connector = aiohttp.TCPConnector(limit=spec["connections"])
    async with aiohttp.ClientSession(connector=connector) as client:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                async with client.get(spec["ready_url"]) as answer:
                    if answer.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        await asyncio.sleep(spec.get("settle_seconds", 1.0))

        async def worker(jobs: list[tuple[str, str, str]], until: float, record: bool) -> None:
            for secret, body, chat in jobs:
                if time.monotonic() >= until:
                    return
                arrival = waiters.expect(chat)
                started = time.perf_counter()
                try:
                    async with client.post(
                        target,
                        data=body,
                        headers={
                            "Content-Type": "application/json",
                            "X-Telegram-Bot-Api-Secret-Token": secret,
                        },
                    ) as answer:
                        await answer.read()
                        if answer.status != 200:
                            failures["status"] += record
                            continue
                    done = await asyncio.wait_for(arrival, REPLY_TIMEOUT)
                except TimeoutError:
                    failures["timeout"] += record
                    continue
                except aiohttp.ClientError:
                    failures["error"] += record
                    continue
                if record:
                    latencies.append(done - started)

        warm = spec["warmup_share"]
        warm_jobs = [jobs[: int(len(jobs) * warm)] for jobs in per_worker]
        main_jobs = [jobs[int(len(jobs) * warm) :] for jobs in per_worker]
        until = time.monotonic() + spec["warmup_seconds"]
        await asyncio.gather(*(worker(jobs, until, False) for jobs in warm_jobs))
        started = time.monotonic()
        cpu_started = time.process_time()
        until = started + spec["seconds"]
        await asyncio.gather(*(worker(jobs, until, True) for jobs in main_jobs))
        elapsed = time.monotonic() - started
        cpu = time.process_time() - cpu_started
    await fake.stop()
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "rps": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
        "p90_ms": round(_percentile(latencies, 0.90) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(max(latencies, default=0.0) * 1000, 2),
        "errors": failures["error"] + failures["timeout"],
        "non_2xx": failures["status"],
        "fake_counts": fake.counts,
        "generator_cpu_share": round(cpu / elapsed, 2) if elapsed else 0.0,
    }


def main() -> None:
    # A server under test that stops mid-send drops its connection to the fake: not news.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    spec = json.loads(Path(sys.argv[1]).read_text())
    lines = Path(spec["requests"]).read_text().splitlines()
    result = asyncio.run(_drive(spec, lines))
    Path(spec["out"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
