"""The printed table (figures and targets from ``bench.targets``), and the generator check."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench import targets, wrk
from bench.env import TWILIO_SID, TWILIO_TOKEN, bare_env, serving
from bench.options import Options
from bench.traffic import SMS_PATH, write_sms_requests


def generator_ceiling(options: Options) -> dict[str, Any]:
    """wrk against a raw ASGI app that reads nothing: what the generator can push here."""
    with tempfile.TemporaryDirectory(prefix="helpline-bench-gen-") as work:
        bodies = write_sms_requests(
            Path(work, "gen.txt"),
            count=5000,
            url="http://127.0.0.1/",
            token=TWILIO_TOKEN,
            account_sid=TWILIO_SID,
        )
        with serving("bench.bare:trivial", workers=1, env=bare_env(), port=None) as server:
            # The trivial app has no /healthz route of its own; any path answers 200.
            result = wrk.run(
                server.url,
                SMS_PATH,
                bodies,
                connections=options.connections,
                seconds=min(options.seconds, 5),
                once=False,
            )
    return {"trivial_endpoint": result.as_dict()}


def table(results: dict[str, Any]) -> str:
    """Render one line per figure: scenario, backend, figure, target, verdict."""
    rows: list[tuple[str, str, str, str, str]] = []
    generator = results.get("generator", {}).get("trivial_endpoint")
    if generator:
        rows.append(
            (
                "generator",
                "-",
                f"{generator['rps']:,.0f} req/s on a trivial endpoint",
                "≫ any server below",
                "-",
            )
        )
    for scenario, per_backend in results["scenarios"].items():
        for backend, figures in per_backend.items():
            if "error" in figures:
                rows.append((scenario, backend, f"ERROR {figures['error'][:70]}", "", "MISSED"))
            elif "skipped" in figures:
                rows.append((scenario, backend, f"skipped: {figures['skipped']}", "", "-"))
            else:
                for row in targets.rows(scenario, figures):
                    rows.append((scenario, backend, row.text, row.target, row.verdict))
    header = ("scenario", "backend", "figure", "target", "verdict")
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(header)]
    out = [
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    machine = results["machine"]
    out.append(
        f"\n{results['date']}  {machine['cpu']} x{machine['cores']}  "
        f"load {machine['load_average']} → {machine.get('load_average_after')}"
    )
    return "\n".join(out)
