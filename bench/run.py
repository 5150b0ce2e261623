"""The benchmark runner: every scenario on every backend, a printed table and a JSON file.

``python -m bench`` runs it all (about twelve minutes); ``--quick`` is a smoke run;
``--only sms,queue`` and ``--backend sqlite`` narrow it down.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import logging
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import env, report
from bench.options import Options

RESULTS = Path(__file__).resolve().parent / "results"
Scenario = Callable[[env.Backend, Options], dict[str, Any]]


def scenarios() -> dict[str, Scenario]:
    from bench.scenarios import growth, memory, queue, relay, signin, sms, telegram

    return {
        "sms": sms.run,
        "telegram": telegram.run,
        "relay": relay.run,
        "memory": memory.run,
        "queue": queue.run,
        "signin": signin.run,
        "growth": growth.run,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--only", default="", help="comma-separated scenarios (default: all)")
    parser.add_argument(
        "--backend", choices=("all", "sqlite", "postgres"), default="all", help="storage to run on"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="HELPLINE_X=VALUE",
        help="a help-line setting for every server of the run (repeatable)",
    )
    args = parser.parse_args(argv)
    for item in args.set:
        key, _, value = item.partition("=")
        if not key.startswith("HELPLINE_") or not value:
            parser.error(f"--set takes HELPLINE_NAME=VALUE, not {item!r}")
        env.SETTINGS[key] = value
    logging.basicConfig(level=logging.WARNING)
    options = Options.for_run(quick=args.quick)
    available = scenarios()
    chosen = [name for name in args.only.split(",") if name] or list(available)
    unknown = [name for name in chosen if name not in available]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    backends = []
    if args.backend in ("all", "sqlite"):
        backends.append(env.sqlite_backend())
    if args.backend in ("all", "postgres"):
        backends.append(env.postgres_backend())

    started = time.monotonic()
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": env.machine(),
        "quick": options.quick,
        "settings": dict(env.SETTINGS),
        "generator": _guarded(functools.partial(report.generator_ceiling, options)),
        "scenarios": {},
    }
    for backend in backends:
        for name in chosen:
            print(f"… {name} on {backend.name}", flush=True)
            result = _guarded(functools.partial(available[name], backend, options))
            results["scenarios"].setdefault(name, {})[backend.name] = result
            backend.drop()
    results["machine"]["load_average_after"] = env.machine()["load_average"]
    results["elapsed_seconds"] = round(time.monotonic() - started, 1)

    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"bench-{stamp}{'-quick' if options.quick else ''}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(report.table(results))
    print(f"\nresults: {path}")
    return 0


def _guarded(action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one measurement; a failure is recorded in the results, not fatal to the run."""
    try:
        return action()
    except Exception as error:
        return {
            "error": f"{type(error).__name__}: {error}",
            "trace": traceback.format_exc()[-2000:],
        }
