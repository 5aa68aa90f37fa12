"""Request and correlation ids, and the one canonical log line per request."""

from __future__ import annotations

import httpx
import pytest
import structlog

from tests.hub.http.conftest import ADMIN_TOKEN, admin


def test_the_caller_s_ids_are_echoed(client: httpx.Client) -> None:
    response = client.get(
        "/healthz", headers={"X-Request-ID": "req-123.a:b", "X-Correlation-ID": "flow-9"}
    )
    assert response.headers["x-request-id"] == "req-123.a:b"
    assert response.headers["x-correlation-id"] == "flow-9"


def test_without_ids_a_request_id_is_made_and_correlates_the_request(client: httpx.Client) -> None:
    first, second = client.get("/healthz"), client.get("/healthz")
    assert len(first.headers["x-request-id"]) == 32
    assert first.headers["x-correlation-id"] == first.headers["x-request-id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "<script>", "-leading-dash"])
def test_an_unsafe_incoming_id_is_replaced(client: httpx.Client, bad: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": bad, "X-Correlation-ID": bad})
    assert response.headers["x-request-id"] != bad
    assert response.headers["x-correlation-id"] == response.headers["x-request-id"]


def test_ids_are_on_problems_too(client: httpx.Client) -> None:
    response = client.get("/nowhere", headers={"X-Request-ID": "r-404"})
    assert response.headers["x-request-id"] == "r-404"
    assert response.json()["request_id"] == "r-404"


def test_one_canonical_line_per_request_with_tenant_and_without_the_query(
    client: httpx.Client,
) -> None:
    created = client.post(
        "/api/v1/admin/tenants", headers=admin(), json={"slug": "canon", "name": "Canon School"}
    )
    assert created.status_code == 201
    merge = structlog.contextvars.merge_contextvars  # as configured: what is bound shows
    with structlog.testing.capture_logs(processors=[merge]) as logs:
        response = client.get(
            "/api/v1/admin/tenants/canon?access_token=sekrit-value",
            headers={**admin(), "X-Request-ID": "r-1", "X-Correlation-ID": "c-1"},
        )
        client.get("/healthz")
    assert response.status_code == 200
    lines = [entry for entry in logs if entry["event"] == "http.request"]
    assert len(lines) == 2
    line = lines[0]
    assert line["log_level"] == "info"
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/admin/tenants/canon"
    assert line["route"] == "/api/v1/admin/tenants/{slug}"
    assert line["status"] == 200
    assert line["request_id"] == "r-1"
    assert line["correlation_id"] == "c-1"
    assert line["tenant_id"] == "canon"
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert "tenant_id" not in lines[1]  # context does not leak from one request to the next
    assert "sekrit-value" not in repr(logs)
    assert ADMIN_TOKEN not in repr(logs)
