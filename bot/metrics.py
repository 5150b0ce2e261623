"""Prometheus metrics for operators: traffic, the queue, the relay and delivery.

Labels are closed sets only — route templates, methods, status codes, channel names,
reason codes — never what anyone wrote, an alias, a number or a raw path, so a label
cannot identify a person and a hostile URL cannot grow the series without bound.

Several uvicorn workers share one port, so a scrape reaches whichever worker the
kernel picks. Per-process registries would then answer with one worker's counts at
random; instead, when ``PROMETHEUS_MULTIPROC_DIR`` is set (``helpline serve
--workers N`` sets a fresh one), counters and histograms are kept in prometheus
multiprocess files there and every worker's ``/metrics`` answers with the sum. The
files hold metric values and label values only. Queue figures are not counted per
process at all: they are read from the database at scrape time, which is the one
truth every worker shares.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlmodel import col, func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.db import SessionFactory
from bot.models import Ticket
from bot.states import TicketStatus
from bot.types import Channel

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
DELIVERY_REASONS = frozenset(
    {
        "refused",
        "error",
        "timeout",
        "rate_limited",
        "blocked",
        "opted_out",
        "invalid_address",
        "unavailable",
        "no_sender",
        "other",
    }
)
_SERVICES = frozenset({"database", "redis", "network"})
DROP_REASONS = frozenset({"not_json", "too_deep", "malformed", "unreadable", "failed"})
"""Why an authentic Telegram update was acknowledged and dropped (closed set)."""
REFUSAL_REASONS = frozenset({"too_large", "bad_length", "slow_body", "hung_up", "bad_encoding"})
"""Why a request was refused before the app read it (closed set)."""
_RECENT_CLAIMS = dt.timedelta(hours=24)

# ``*_created`` timestamps double every series and tell an operator nothing here.
disable_created_metrics()  # type: ignore[no-untyped-call]

REQUESTS = Counter(
    "helpline_http_requests",
    "HTTP requests by method, route template and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "helpline_http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RELAY_LAG = Histogram(
    "helpline_relay_lag_seconds",
    "Time from publishing a relay event to its arrival on a worker (Redis relay).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
RELAY_RECONNECTS = Counter(
    "helpline_relay_reconnects", "Times a worker's relay reader reconnected to Redis."
)
STATE_CACHE_EVENTS = Counter(
    "helpline_state_cache_events",
    "Per-worker state cache across workers: redis_error (fell back to the database), repair.",
    ["event"],
)
RELAY_PUBLISH_FAILURES = Counter(
    "helpline_relay_publish_failures",
    "Relay events that could not be published, by kind (content or notice).",
    ["kind"],
)
DELIVERY_FAILURES = Counter(
    "helpline_delivery_failures",
    "Messages to a person that were not delivered, by channel and reason code.",
    ["channel", "reason"],
)
UNAVAILABLE = Counter(
    "helpline_unavailable_responses",
    "Requests answered 503 because a backing service was unreachable, by service.",
    ["service"],
)

UPDATES_DROPPED = Counter(
    "helpline_telegram_updates_dropped",
    "Authentic Telegram updates acknowledged (200) but not answered, by reason.",
    ["reason"],
)
REQUESTS_REFUSED = Counter(
    "helpline_requests_refused",
    "Requests refused before their body was read or parsed, by reason.",
    ["reason"],
)

SIGN_IN_HANDLING = frozenset({"checked", "refused_address", "refused_busy"})
"""How a console sign-in was handled (closed set): only ``checked`` computed a hash."""
SIGN_INS = Counter(
    "helpline_console_sign_ins",
    "Console sign-ins by handling: checked (account read, password hashed), refused_address "
    "(too many failures from the address) or refused_busy (too many at once); refusals "
    "read and hash nothing.",
    ["handling"],
)


def prepare_multiprocess(directory: str | None = None) -> str:
    """Point this process and the workers it starts at a fresh multiprocess directory."""
    # A fresh directory per start: files left by an earlier run would add old counts.
    path = directory or tempfile.mkdtemp(prefix="helpline-metrics-")
    os.environ[MULTIPROC_ENV] = path
    return path


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def delivery_failed(channel: str, reason: str) -> None:
    """Count a failed delivery; unknown channels or reasons are counted as ``other``."""
    channel = channel if channel in {c.value for c in Channel} else "other"
    DELIVERY_FAILURES.labels(channel, reason if reason in DELIVERY_REASONS else "other").inc()


def update_dropped(reason: str) -> None:
    UPDATES_DROPPED.labels(reason if reason in DROP_REASONS else "malformed").inc()


def request_refused(reason: str) -> None:
    REQUESTS_REFUSED.labels(reason if reason in REFUSAL_REASONS else "bad_length").inc()


def sign_in_handled(handling: str) -> None:
    SIGN_INS.labels(handling if handling in SIGN_IN_HANDLING else "checked").inc()


def service_unavailable(service: str) -> None:
    UNAVAILABLE.labels(service if service in _SERVICES else "network").inc()


def route_template(scope: Scope) -> str:
    """The matched route's template (``/console/tickets/{ticket_id}``), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"


class RequestMetrics:
    """ASGI middleware: count requests and time them by route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            request_served(scope["method"], route_template(scope), status, started)


def request_served(method: str, route: str, status: int, started: float) -> None:
    """Count one answered request and its time since ``started`` (``time.perf_counter``).

    The labelled series are kept per label set: ``labels()`` checks and locks on every
    call, and the webhook lane counts every message a person sends."""
    method = method if method in _METHODS else "other"
    series = _SERVED.get((method, route, status))
    if series is None:
        series = _SERVED[(method, route, status)] = (
            REQUESTS.labels(method, route, str(status)),
            LATENCY.labels(method, route),
        )
    series[0].inc()
    series[1].observe(time.perf_counter() - started)


_SERVED: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
"""Closed label sets only (methods, route templates, status codes), so this stays small."""


@dataclass(frozen=True, slots=True)
class QueueFigures:
    waiting: int
    waiting_urgent: int
    active: int
    longest_wait_seconds: float
    recent_waits: Sequence[float]


async def queue_figures(sessions: SessionFactory, now: dt.datetime) -> QueueFigures:
    """Read the line's length and waits from the database every worker shares."""
    async with sessions() as session:
        counts = await session.exec(
            select(Ticket.status, Ticket.urgent, func.count())
            .where(col(Ticket.status) != TicketStatus.CLOSED)
            .group_by(col(Ticket.status), col(Ticket.urgent))
        )
        waiting = urgent = active = 0
        for status, is_urgent, n in counts.all():
            if status == TicketStatus.WAITING:
                waiting += n
                urgent += n if is_urgent else 0
            else:
                active += n
        oldest = (
            await session.exec(
                select(func.min(Ticket.created_at)).where(Ticket.status == TicketStatus.WAITING)
            )
        ).one()
        claims = await session.exec(
            select(Ticket.created_at, Ticket.claimed_at)
            .where(col(Ticket.claimed_at).is_not(None))
            .where(col(Ticket.claimed_at) > now - _RECENT_CLAIMS)
        )
        waits = [
            (claimed - created).total_seconds() for created, claimed in claims.all() if claimed
        ]
    longest = (now - _aware(oldest)).total_seconds() if oldest is not None else 0.0
    return QueueFigures(waiting, urgent, active, max(0.0, longest), waits)


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class _Snapshot(Collector):
    """Gauges computed for one scrape (queue figures and service health)."""

    def __init__(self, figures: QueueFigures | None, *, database_up: bool, relay_up: bool) -> None:
        self._figures = figures
        self._database_up = database_up
        self._relay_up = relay_up

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "helpline_database_up", "1 if the database answered this scrape.", self._database_up
        )
        yield GaugeMetricFamily(
            "helpline_relay_up", "1 if the relay answered this scrape.", self._relay_up
        )
        figures = self._figures
        if figures is None:
            return
        waiting = GaugeMetricFamily(
            "helpline_queue_waiting", "People waiting for an advocate.", labels=["urgent"]
        )
        waiting.add_metric(["true"], figures.waiting_urgent)
        waiting.add_metric(["false"], figures.waiting - figures.waiting_urgent)
        yield waiting
        yield GaugeMetricFamily(
            "helpline_queue_active", "Conversations with an advocate now.", figures.active
        )
        yield GaugeMetricFamily(
            "helpline_queue_longest_wait_seconds",
            "How long the longest-waiting person has waited.",
            figures.longest_wait_seconds,
        )
        recent = GaugeMetricFamily(
            "helpline_queue_recent_wait_seconds",
            "Waits of people claimed in the last 24 hours, by quantile.",
            labels=["quantile"],
        )
        for quantile, value in _quantiles(figures.recent_waits).items():
            recent.add_metric([quantile], value)
        yield recent


def _quantiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    if len(values) == 1:
        return {"0.5": values[0], "0.9": values[0]}
    cuts = statistics.quantiles(values, n=10, method="inclusive")
    return {"0.5": statistics.median(values), "0.9": cuts[8]}


async def exposition(sessions: SessionFactory, now: dt.datetime, *, relay_up: bool) -> bytes:
    """The text for one ``/metrics`` scrape."""
    if multiprocess_enabled():
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)  # type: ignore[no-untyped-call]
    else:
        counted = REGISTRY
    try:
        figures: QueueFigures | None = await queue_figures(sessions, now)
    except Exception:  # a down database is reported as a gauge, not as an error
        figures = None
    snapshot = CollectorRegistry(auto_describe=False)
    snapshot.register(_Snapshot(figures, database_up=figures is not None, relay_up=relay_up))
    return generate_latest(counted) + generate_latest(snapshot)
