"""The hub's Prometheus metrics (prometheus_client's default registry; text at `/metrics`).

Counters and histograms count in the process that does the work; under `hub run` that is
one process (HTTP, projections and connectors are threads of it), so `/metrics` has them
all. In the production layout each part counts its own: `hub serve` has ingest, verdicts
and HTTP latency; delivery outcomes are counted by `hub connect`. What `/metrics` reads at
scrape time from shared state (projection lag from the read models and the logs' heads,
deliveries per status from the integration health read model) is the same from any
process.

Other parts count through the helpers here (`count_stored`, `count_verdict`,
`count_delivery`); no other registry is made. Labels are bounded: sources are reduced to
their kind (`source_label`), event types are class names, routes are templates.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EVENTS_STORED = Counter(
    "hub_events_stored",
    "Events stored in the hub's log, by source kind and event type.",
    ["source", "event_type"],
)
VERDICTS = Counter(
    "hub_signal_verdicts",
    "Inbound signals accepted or rejected, by source (ingress kind) and reason.",
    ["source", "verdict", "reason"],
)
DELIVERY_OUTCOMES = Counter(
    "hub_delivery_outcomes",
    "Outbound delivery attempts, by connector and outcome.",
    ["connector", "outcome"],
)
HTTP_LATENCY = Histogram(
    "hub_http_request_duration_seconds",
    "HTTP request latency, by route template, method and status class.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
_SIMPLE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def source_label(source: str) -> str:
    """A source as a bounded label: `spark`, `lti`, `sis` (of `sis:<name>`), `http:admin`."""
    head, _, rest = source.partition(":")
    if not _SIMPLE.match(head):
        return "other"
    return f"{head}:admin" if rest == "admin" else head


def count_stored(events: Iterable[Any]) -> None:
    """Count events just stored (the hub application calls it after each commit)."""
    for event in events:
        context = getattr(event, "context", None) or {}
        count_stored_as(str(context.get("source", "hub")), type(event).__qualname__)


def count_stored_as(source: str, event_type: str) -> None:
    """Count one event just stored, from its context's source and its public type."""
    EVENTS_STORED.labels(source_label(source), event_type).inc()


def count_verdict(source: str, verdict: str, reason: str) -> None:
    VERDICTS.labels(source_label(source), verdict, reason[:60]).inc()


def count_delivery(connector: str, outcome: str) -> None:
    DELIVERY_OUTCOMES.labels(connector[:60], outcome).inc()


class MetricsMiddleware:
    """HTTP latency per route template (not path: bounded), method and status class."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in _METHODS else "other"
            HTTP_LATENCY.labels(route, method, f"{status // 100}xx").observe(
                time.perf_counter() - started
            )


class ScrapeCollector(Collector):
    """Gauges read at scrape time from shared state: projection positions and lag, and the
    deliveries per connector and status."""

    def __init__(
        self,
        statuses: Callable[[], Sequence[Any]],
        deliveries: Callable[[], Sequence[tuple[str, str, int]]],
    ) -> None:
        self._statuses = statuses
        self._deliveries = deliveries

    def collect(self) -> Iterable[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            "hub_projection_lag_events",
            "Events a projection has still to apply, by projection and upstream log.",
            labels=["projection", "upstream"],
        )
        position = GaugeMetricFamily(
            "hub_projection_position",
            "A projection's live position in an upstream log.",
            labels=["projection", "upstream"],
        )
        for status in self._statuses():
            for upstream in status.upstreams:
                lag.add_metric([status.name, upstream.application], upstream.lag)
                position.add_metric([status.name, upstream.application], upstream.position)
        deliveries = GaugeMetricFamily(
            "hub_deliveries",
            "Deliveries known to the integration health read model, by connector and status.",
            labels=["connector", "status"],
        )
        for connector, state, count in self._deliveries():
            deliveries.add_metric([connector, state], count)
        return [lag, position, deliveries]
