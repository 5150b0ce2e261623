"""Scenario 1: the SMS webhook under a burst, against the bare framework in the same run."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

from bench import wrk
from bench.env import (
    TWILIO_SID,
    TWILIO_TOKEN,
    Backend,
    CpuMeter,
    FakeCarrierProcess,
    Server,
    bare_env,
    free_port,
    helpline_env,
    serving,
)
from bench.options import Options
from bench.traffic import SMS_PATH, Message, sms_form, write_sms_requests

SIGNATURE = "X-Twilio-Signature"
_DELETE = "twilio.delete"
DRAIN_SECONDS = 60.0


def run(backend: Backend, options: Options) -> dict[str, Any]:
    """Measure bare and help line back to back; return both and their ratios."""
    with tempfile.TemporaryDirectory(prefix="helpline-bench-sms-") as work:
        port = free_port()
        url = f"http://127.0.0.1:{port}{SMS_PATH}"
        count = options.requests_for(options.seconds)
        bodies = write_sms_requests(
            Path(work, "sms.txt"), count=count, url=url, token=TWILIO_TOKEN, account_sid=TWILIO_SID
        )
        warmup = write_sms_requests(
            Path(work, "warm.txt"),
            count=options.warmup_requests,
            url=url,
            token=TWILIO_TOKEN,
            account_sid=TWILIO_SID,
            start=50_000_000,
        )
        bare, bare_cpu = _bare(backend, bodies, warmup, options)
        backend.create()
        try:
            with FakeCarrierProcess() as carrier:
                env = helpline_env(backend, port, twilio_api=carrier.url, telegram_api=None)
                with serving("bot.asgi:app", workers=backend.workers, env=env, port=port) as server:
                    checks = _sanity(server.url, url)
                    wrk.run(
                        server.url,
                        SMS_PATH,
                        warmup,
                        connections=options.connections,
                        seconds=options.warmup_seconds,
                        header=SIGNATURE,
                    )
                    meter = CpuMeter(server)
                    helpline = wrk.run(
                        server.url,
                        SMS_PATH,
                        bodies,
                        connections=options.connections,
                        seconds=options.seconds,
                        header=SIGNATURE,
                    )
                    helpline_cpu = meter.per_request_us(helpline.requests)
                    rss = server.rss_mb()
                    deletions = _deletions_after_the_burst(server, carrier)
                carrier_calls = carrier.counts()
        finally:
            backend.drop()
    valid = not helpline.errors and not helpline.non_2xx and checks["signed_has_message"]
    ratio = helpline.rps / bare.rps if bare.rps else 0.0
    p99_ratio = helpline.p99_ms / bare.p99_ms if bare.p99_ms else 0.0
    return {
        "requests_prepared": count,
        "bare": bare.as_dict(),
        "helpline": helpline.as_dict(),
        "throughput_ratio": round(ratio, 3),
        "p99_ratio": round(p99_ratio, 2),
        "valid": valid,
        "requests_ran_out": helpline.requests >= count,
        "sanity": checks,
        "carrier_calls": carrier_calls,
        "cpu_us": {"bare": bare_cpu, "helpline": helpline_cpu},
        "deletions_after": deletions,
        "worker_rss_mb": [round(value, 1) for value in rss],
    }


def _bare(
    backend: Backend, bodies: Path, warmup: Path, options: Options
) -> tuple[wrk.LoadResult, dict[str, float]]:
    with serving("bench.bare:app", workers=backend.workers, env=bare_env()) as server:
        wrk.run(
            server.url,
            SMS_PATH,
            warmup,
            connections=options.connections,
            seconds=options.warmup_seconds,
            once=False,
            header=SIGNATURE,
        )
        meter = CpuMeter(server)
        result = wrk.run(
            server.url,
            SMS_PATH,
            bodies,
            connections=options.connections,
            seconds=options.seconds,
            once=False,
            header=SIGNATURE,
        )
        return result, meter.per_request_us(result.requests)


def _deletions_after_the_burst(server: Server, carrier: FakeCarrierProcess) -> dict[str, Any]:
    """The carrier's record deletions the burst left for later, and their CPU each.

    While webhooks are being answered the workers delete a few records a second
    (``bot/channels/carrier_cleanup.py``); the rest wait for the burst to end. Their
    cost is real, only later: this follows the queue for up to ``DRAIN_SECONDS`` after
    the burst, until the count of deletions stops growing, and charges the workers'
    CPU meanwhile to the deletions made."""
    meter = CpuMeter(server)
    first = last = carrier.counts().get(_DELETE, 0)
    started = changed = time.monotonic()
    while time.monotonic() - started < DRAIN_SECONDS and time.monotonic() - changed < 1.0:
        time.sleep(0.25)
        now = carrier.counts().get(_DELETE, 0)
        if now != last:
            last, changed = now, time.monotonic()
    deleted = last - first
    return {
        "deleted": deleted,
        "seconds": round(changed - started, 1),
        "cpu_us": meter.per_request_us(deleted) if deleted else None,
    }


def _sanity(base: str, url: str) -> dict[str, Any]:
    """One signed message gets TwiML with words in it; a forged one gets 403."""
    form = sms_form(Message(sender=99_999_999, text="hello", new=True), TWILIO_SID)
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
    signed = httpx.post(
        base + SMS_PATH, data=form, headers={"X-Twilio-Signature": signature}, timeout=10
    )
    forged = httpx.post(
        base + SMS_PATH, data=form, headers={"X-Twilio-Signature": "forged"}, timeout=10
    )
    return {
        "signed_status": signed.status_code,
        "signed_has_message": "<Message" in signed.text,
        "forged_status": forged.status_code,
    }
