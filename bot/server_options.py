"""How uvicorn serves the help line, in one place: ``helpline serve`` runs with these,
and so does every server the benchmarks start (the bare framework included), so a
figure in ``bench/`` is a figure of what production runs."""

from __future__ import annotations

from typing import Any

HEADER_BYTES = 16 * 1024
"""The largest request head (request line and headers) uvicorn will buffer."""
KEEP_ALIVE_SECONDS = 5
"""An idle keep-alive connection is closed after this long."""
WEBSOCKET_FRAME_BYTES = 64 * 1024
"""The largest WebSocket message (a console or simulator frame is a few kilobytes)."""
GRACEFUL_SECONDS = 20
"""On SIGTERM, requests in flight get this long to finish before the process exits."""


def uvicorn_options() -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` besides the app, address and workers."""
    return {
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        # h11, not httptools: httptools has no limit on the size of a request head, so a
        # header bomb could fill the worker's memory before any code of ours runs.
        # Measured on the SMS path (2026-11-30), the parser is not where its time goes.
        "http": "h11",
        "h11_max_incomplete_event_size": HEADER_BYTES,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "timeout_graceful_shutdown": GRACEFUL_SECONDS,
        "ws_max_size": WEBSOCKET_FRAME_BYTES,
    }
