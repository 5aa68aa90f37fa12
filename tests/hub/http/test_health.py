"""Liveness, readiness and the OpenAPI document, over real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from hub.bootstrap import Runtime
from hub.http import Readiness, create_app, runtime_readiness
from infra.sql import make_engine
from tests.hub.http.live_server import live_server


def test_healthz_says_the_process_is_up(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_when_nats_and_the_database_answer(
    runtime: Runtime, database_url: str
) -> None:
    engine = make_engine(database_url)
    statuses = [{"name": "portfolios", "position": 7, "head": 9, "lag": 2}]
    readiness = runtime_readiness(runtime, engine, projections=lambda: statuses)
    try:
        with live_server(create_app(runtime, readiness=readiness)) as url:
            response = httpx.get(f"{url}/readyz", timeout=10)
    finally:
        engine.dispose()
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["nats"]["status"] == "ok"
    assert body["checks"]["nats"]["connected"] is True
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["database"]["dialect"] == engine.dialect.name
    assert body["checks"]["projections"] == statuses


def test_readyz_is_not_ready_while_a_projection_lag_is_unknown(
    runtime: Runtime, readiness: Readiness
) -> None:
    def statuses() -> list[dict[str, Any]]:
        return [{"name": "gradebook", "position": None, "head": 12, "lag": None}]

    readiness.projections = statuses
    with live_server(create_app(runtime, readiness=readiness)) as url:
        response = httpx.get(f"{url}/readyz", timeout=10)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "https://hub.example/problems/not-ready"
    assert "lag unknown for gradebook" in body["detail"]
    assert body["checks"]["nats"]["status"] == "ok"
    assert body["checks"]["projections"][0]["name"] == "gradebook"


def test_readyz_is_not_ready_when_the_database_cannot_be_opened(
    runtime: Runtime, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'read.sqlite3'}")
    readiness = runtime_readiness(runtime, engine)
    try:
        with live_server(create_app(runtime, readiness=readiness)) as url:
            response = httpx.get(f"{url}/readyz", timeout=10)
    finally:
        engine.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["status"] == "down"
    assert body["checks"]["database"]["error"] == "failed (OperationalError)"
    assert body["checks"]["nats"]["status"] == "ok"
    assert str(tmp_path) not in response.text  # the driver's message stays in the server


def test_the_openapi_document_and_docs_are_served(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    assert document["info"]["title"] == "Education integration hub"
    described = {tag["name"] for tag in document["tags"]}
    used = {
        tag
        for path in document["paths"].values()
        for op in path.values()
        for tag in op.get("tags", [])
    }
    assert {"operations", "admin"} <= described
    assert used <= described, f"tags without a description: {used - described}"
    assert {"/healthz", "/readyz", "/api/v1/admin/tenants", "/api/v1/admin/tenants/{slug}"} <= set(
        document["paths"]
    )
    conflict = document["paths"]["/api/v1/admin/tenants"]["post"]["responses"]["409"]
    assert "application/problem+json" in conflict["content"]
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
