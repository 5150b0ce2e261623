"""The printed table, and the check that the load generator is not the bottleneck."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench import wrk
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


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}" if value >= 10 else f"{value:.2f}{unit}"
    return f"{value}{unit}"


def _mark(met: Any) -> str:
    return "met" if met is True else ("MISSED" if met is False else "-")


def table(results: dict[str, Any]) -> str:
    """Render one line per measured figure: scenario, backend, figure, target, verdict."""
    rows: list[tuple[str, str, str, str, str]] = []
    generator = results.get("generator", {}).get("trivial_endpoint")
    if generator:
        rows.append(
            (
                "generator",
                "-",
                f"{_fmt(generator['rps'])} req/s on a trivial endpoint",
                "≫ any server below",
                "-",
            )
        )
    for scenario, per_backend in results["scenarios"].items():
        for backend, figures in per_backend.items():
            if "error" in figures:
                rows.append((scenario, backend, f"ERROR {figures['error'][:70]}", "", "MISSED"))
                continue
            for line in _lines(scenario, figures):
                rows.append((scenario, backend, *line))
    widths = [max(len(row[i]) for row in rows) for i in range(5)] if rows else [0] * 5
    header = ("scenario", "backend", "figure", "target", "verdict")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
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


def _lines(scenario: str, f: dict[str, Any]) -> list[tuple[str, str, str]]:
    if "skipped" in f:
        return [(f"skipped: {f['skipped']}", "", "-")]
    if scenario in ("sms", "telegram"):
        bare, line = f["bare"], f["helpline"]
        target = "≥ 50% of bare" if scenario == "sms" else "≥ 40% of bare"
        lines = [
            (
                f"bare {_fmt(bare['rps'])} req/s p50 {_fmt(bare['p50_ms'])} p99 {_fmt(bare['p99_ms'])} ms",
                "",
                "-",
            ),
            (
                f"help line {_fmt(line['rps'])} req/s p50 {_fmt(line['p50_ms'])} p99 {_fmt(line['p99_ms'])} ms",
                "",
                "-",
            ),
            (
                f"throughput ratio {f['throughput_ratio']:.0%}",
                target,
                _mark(f["throughput_target_met"]),
            ),
        ]
        if "p99_target_met" in f:
            lines.append(
                (f"p99 ratio {f['p99_ratio']:.1f}x", "< 4x bare p99", _mark(f["p99_target_met"]))
            )
        if line.get("errors") or line.get("non_2xx"):
            lines.append((f"errors {line['errors']} non-2xx {line['non_2xx']}", "0", "MISSED"))
        return lines
    if scenario == "relay":
        return [
            (
                f"{name} p50 {_fmt(d['p50_ms'])} p99 {_fmt(d['p99_ms'])} ms (n={d['n']})",
                "p99 < 20 ms",
                _mark(d["target_met"]),
            )
            for name, d in f["directions"].items()
        ]
    if scenario == "memory":
        return [
            (
                f"worker RSS {_fmt(f['rss_mb_max'])} MB after {f['people']} people, {f['open_tickets']} tickets",
                "< 150 MB",
                _mark(f["target_met"]),
            )
        ]
    if scenario == "queue":
        return [
            (
                f"list {f['waiting']} waiting: median {_fmt(f['list_ms_median'])} ms, max {_fmt(f['list_ms_max'])} ms",
                "(whole line)",
                "-",
            ),
            (
                f"console page of {f['page_size']}: first {_fmt(f['page_ms_median'])} ms, "
                f"at {f['deep_page_position']} {_fmt(f['deep_page_ms_median'])} ms (medians)",
                "< 50 ms",
                _mark(f["list_target_met"]),
            ),
            (
                f"claim race x{f['rounds']}: winners per round {f['winners_per_round']}",
                "exactly 1",
                _mark(f["claim_target_met"]),
            ),
        ]
    if scenario == "signin":
        quiet, flooded = f["quiet"], f["flooded"]
        return [
            (
                f"SMS p99 quiet {_fmt(quiet['p99_ms'])} ms, under {f['parallel']} parallel "
                f"sign-ins {_fmt(flooded['p99_ms'])} ms = {f['p99_ratio']:.1f}x",
                "≤ 2x quiet",
                _mark(f["p99_target_met"]),
            ),
            (
                f"worker RSS {_fmt(f['rss_quiet_mb'])} → {_fmt(f['rss_flooded_mb'])} MB "
                f"(sign-in answers {f['signin_statuses']})",
                "≤ +100 MB",
                _mark(f["memory_target_met"]),
            ),
        ]
    return [(str(f)[:80], "", "-")]
