"""The admin tenants API: secrets shown once, provenance recorded, reads without secrets."""

from __future__ import annotations

import httpx

from hub.bootstrap import Runtime
from hub.domain.tenants import tenant_id
from infra.secrets import api_key_matches
from tests.hub.http.conftest import admin


def test_registering_a_tenant_returns_its_secrets_once_and_its_position(
    client: httpx.Client, runtime: Runtime
) -> None:
    response = client.post(
        "/api/v1/admin/tenants", headers=admin(), json={"slug": "acme", "name": "Acme Academy"}
    )
    assert response.status_code == 201
    assert response.headers["location"] == "/api/v1/admin/tenants/acme"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["slug"] == "acme"
    assert body["name"] == "Acme Academy"
    assert body["api_key"].startswith("hubk_")
    assert body["webhook_secret"].startswith("whsec_")
    assert body["position"] >= 1
    stored = runtime.hub.tenant("acme")
    assert stored is not None
    assert api_key_matches(body["api_key"], stored.api_key_hashes[0])


def test_a_tenant_is_read_back_without_any_secret(client: httpx.Client) -> None:
    created = client.post(
        "/api/v1/admin/tenants",
        headers=admin(),
        json={"slug": "beta-school", "name": "Beta School"},
    ).json()
    response = client.get("/api/v1/admin/tenants/beta-school", headers=admin())
    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == "beta-school"
    assert body["name"] == "Beta School"
    assert body["id"] == tenant_id("beta-school")
    assert body["version"] == 1
    assert set(body) == {"slug", "name", "id", "version", "created_on", "modified_on"}
    assert created["api_key"] not in response.text
    assert created["webhook_secret"] not in response.text


def test_an_unknown_tenant_is_a_404_problem(client: httpx.Client) -> None:
    response = client.get("/api/v1/admin/tenants/nobody", headers=admin())
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "https://hub.example/problems/not-found"


def test_a_bad_slug_in_the_path_is_a_422_problem(client: httpx.Client) -> None:
    response = client.get("/api/v1/admin/tenants/Bad_Slug", headers=admin())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "path.slug"


def test_the_registration_event_carries_the_request_s_correlation(
    client: httpx.Client, runtime: Runtime
) -> None:
    response = client.post(
        "/api/v1/admin/tenants",
        json={"slug": "traced", "name": "Traced"},
        headers={**admin(), "X-Request-ID": "req-77", "X-Correlation-ID": "corr-77"},
    )
    assert response.status_code == 201
    registered = runtime.hub.repository.event_store.get(tenant_id("traced"))
    context = next(iter(registered)).context  # type: ignore[attr-defined]
    assert context == {
        "correlation_id": "corr-77",
        "causation_id": "req-77",
        "source": "http:admin",
        "verified_by": "admin-token",
    }
