"""Every error is an RFC 9457 problem with a stable type, over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI

from tests.hub.http.conftest import admin
from tests.hub.http.live_server import live_server

PROBLEM_JSON = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://hub.example/problems/{kind}"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["instance"] == response.request.url.path
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_an_unknown_route_is_a_404_problem(client: httpx.Client) -> None:
    body = assert_problem(client.get("/no/such/thing"), 404, "not-found")
    assert body["title"] == "Not found"
    assert "/no/such/thing" in body["detail"]


def test_a_wrong_method_is_a_405_problem_that_says_what_is_allowed(client: httpx.Client) -> None:
    response = client.delete("/healthz")
    body = assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET"
    assert "GET" in body["detail"]


def test_invalid_input_is_a_422_problem_listing_the_fields(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/admin/tenants",
        headers=admin(),
        json={"slug": "Not A Slug!", "api_key": "do-not-echo-me"},
    )
    body = assert_problem(response, 422, "validation-failed")
    fields = {error["field"]: error for error in body["errors"]}
    assert set(fields) == {"body.slug", "body.name"}
    assert fields["body.name"]["code"] == "missing"
    assert fields["body.slug"]["code"] == "string_pattern_mismatch"
    assert "Not A Slug!" not in response.text  # the input is never echoed back


def test_a_body_that_is_not_json_is_a_422_problem(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/admin/tenants",
        headers={**admin(), "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert_problem(response, 422, "validation-failed")


@pytest.mark.parametrize(
    "headers",
    [{}, admin("wrong-token"), {"Authorization": "Basic eDp5"}],
    ids=["missing", "wrong", "not-bearer"],
)
def test_the_admin_api_without_the_right_token_is_a_401_problem(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/admin/tenants", headers=headers, json={"slug": "acme", "name": "Acme"}
    )
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_problem(client.get("/api/v1/admin/tenants/acme", headers=headers), 401, "unauthorized")


def test_registering_a_tenant_twice_is_a_409_problem(client: httpx.Client) -> None:
    tenant = {"slug": "twice", "name": "Twice Academy"}
    assert client.post("/api/v1/admin/tenants", headers=admin(), json=tenant).status_code == 201
    response = client.post("/api/v1/admin/tenants", headers=admin(), json=tenant)
    body = assert_problem(response, 409, "tenant-exists")
    assert "'twice'" in body["detail"]


def test_an_unexpected_error_is_a_500_problem_that_leaks_nothing(app: FastAPI) -> None:
    async def explode() -> None:
        msg = "internal detail: password=hunter2"
        raise RuntimeError(msg)

    app.add_api_route("/explode", explode)
    with structlog.testing.capture_logs() as logs, live_server(app) as url:
        response = httpx.get(f"{url}/explode", timeout=10)
    body = assert_problem(response, 500, "internal-error")
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    crash = next(e for e in logs if e["event"] == "http.unhandled_error")
    assert crash["log_level"] == "error"
    assert crash["exc_info"] is True
    line = next(e for e in logs if e["event"] == "http.request")
    assert line["status"] == 500
    assert line["request_id"] == body["request_id"]
