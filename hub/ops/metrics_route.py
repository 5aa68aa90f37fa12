"""`GET /metrics`: the process's counters and histograms, and the gauges read at scrape time
from the read models and the logs (Prometheus text exposition)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.concurrency import run_in_threadpool

from hub.ops.backend import OpsBackend
from hub.ops.metrics import ScrapeCollector

router = APIRouter(tags=["operations"])


def scrape_registry(backend: OpsBackend) -> CollectorRegistry:
    """A registry of this app's scrape-time gauges (the process-wide metrics stay in
    prometheus_client's default registry)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ScrapeCollector(backend.statuses, backend.delivery_counts))
    return registry


def _exposition(scrape: CollectorRegistry) -> bytes:
    return generate_latest(REGISTRY) + generate_latest(scrape)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
    summary="Prometheus metrics: ingest, verdicts, deliveries, projection lag, HTTP latency",
)
async def metrics(request: Request) -> Response:
    body = await run_in_threadpool(_exposition, request.app.state.ops_scrape)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
