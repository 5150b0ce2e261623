"""Start uvicorn for a benchmark: ``python -m bench.serve APP HOST PORT WORKERS``.

Every server of a run (the bare framework, the help line) goes through here with
``helpline serve``'s own uvicorn options (``bot/server_options.py``): a benchmark
compares what production runs, not uvicorn's defaults (which pick httptools). It
imports nothing else, so a worker's memory is the app's own."""

from __future__ import annotations

import sys

import uvicorn

from bot.server_options import uvicorn_options


def main(app: str, host: str, port: int, workers: int) -> None:
    options = uvicorn_options()
    uvicorn.run(app, host=host, port=port, workers=workers, log_level="warning", **options)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
