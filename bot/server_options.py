"""How uvicorn serves the help line, in one place: ``helpline serve`` runs with these,
and so does every server the benchmarks start (the bare framework included), so a
figure in ``bench/`` is a figure of what production runs."""

from __future__ import annotations

from typing import Any

HEADER_BYTES = 16 * 1024
"""The largest request head (request line and headers) a worker will buffer."""
KEEP_ALIVE_SECONDS = 5
"""An idle keep-alive connection is closed after this long."""
WEBSOCKET_FRAME_BYTES = 64 * 1024
"""The largest WebSocket message (a console or simulator frame is a few kilobytes)."""
GRACEFUL_SECONDS = 20
"""On SIGTERM, requests in flight get this long to finish before the process exits."""


def uvicorn_options() -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` besides the app, address and workers."""
    # httptools with our own head-size limit (bot/http_protocol.py): httptools alone has
    # none, and h11, which has one, answered 16 % fewer webhooks.
    from bot.http_protocol import BoundedHttpToolsProtocol

    return {
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        "http": BoundedHttpToolsProtocol,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "timeout_graceful_shutdown": GRACEFUL_SECONDS,
        "ws_max_size": WEBSOCKET_FRAME_BYTES,
    }
