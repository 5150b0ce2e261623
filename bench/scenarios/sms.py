"""Scenario 1: the SMS webhook under a burst, against the bare framework in the same run."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

from bench import wrk
from bench.env import (
    TWILIO_SID,
    TWILIO_TOKEN,
    Backend,
    FakeCarrierProcess,
    bare_env,
    free_port,
    helpline_env,
    serving,
)
from bench.options import Options
from bench.traffic import SMS_PATH, Message, sms_form, write_sms_requests

SIGNATURE = "X-Twilio-Signature"


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
        bare = _bare(backend, bodies, warmup, options)
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
                    helpline = wrk.run(
                        server.url,
                        SMS_PATH,
                        bodies,
                        connections=options.connections,
                        seconds=options.seconds,
                        header=SIGNATURE,
                    )
                    rss = server.rss_mb()
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
        "worker_rss_mb": [round(value, 1) for value in rss],
    }


def _bare(backend: Backend, bodies: Path, warmup: Path, options: Options) -> wrk.LoadResult:
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
        return wrk.run(
            server.url,
            SMS_PATH,
            bodies,
            connections=options.connections,
            seconds=options.seconds,
            once=False,
            header=SIGNATURE,
        )


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
