"""The admin tenants API beyond registration: list (paged), rename, rotate the tenant's secrets."""

from __future__ import annotations

import httpx
import pytest

from hub.bootstrap import Runtime
from infra.secrets import api_key_matches
from tests.hub.http.conftest import admin

TENANTS = "/api/v1/admin/tenants"


def register(client: httpx.Client, slug: str) -> dict[str, str]:
    response = client.post(TENANTS, headers=admin(), json={"slug": slug, "name": slug.title()})
    assert response.status_code == 201
    body: dict[str, str] = response.json()
    return body


def test_tenants_are_listed_by_slug_a_page_at_a_time(client: httpx.Client) -> None:
    for slug in ("delta", "alpha", "charlie", "bravo"):
        register(client, slug)
    first = client.get(TENANTS, headers=admin(), params={"limit": 3})
    assert first.status_code == 200
    body = first.json()
    assert [t["slug"] for t in body["tenants"]] == ["alpha", "bravo", "charlie"]
    assert body["next_after"] == "charlie"
    rest = client.get(TENANTS, headers=admin(), params={"limit": 3, "after": "charlie"}).json()
    assert [t["slug"] for t in rest["tenants"]] == ["delta"]
    assert rest["next_after"] is None


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"after": "Not A Slug"}])
def test_bad_list_parameters_are_422(client: httpx.Client, params: dict[str, object]) -> None:
    response = client.get(TENANTS, headers=admin(), params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_a_tenant_is_renamed(client: httpx.Client, runtime: Runtime) -> None:
    register(client, "acme")
    response = client.patch(f"{TENANTS}/acme", headers=admin(), json={"name": "Acme Academy"})
    assert response.status_code == 200
    assert response.json()["name"] == "Acme Academy"
    assert response.json()["version"] == 2
    stored = runtime.hub.tenant("acme")
    assert stored is not None
    assert stored.name == "Acme Academy"


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 201}])
def test_a_bad_rename_is_422_and_changes_nothing(
    client: httpx.Client, runtime: Runtime, body: dict[str, object]
) -> None:
    register(client, "acme")
    response = client.patch(f"{TENANTS}/acme", headers=admin(), json=body)
    assert response.status_code == 422
    stored = runtime.hub.tenant("acme")
    assert stored is not None
    assert stored.version == 1


def test_renaming_or_rotating_an_unknown_tenant_is_a_404(client: httpx.Client) -> None:
    renamed = client.patch(f"{TENANTS}/nobody", headers=admin(), json={"name": "N"})
    rotated = client.post(
        f"{TENANTS}/nobody/secrets/rotate", headers=admin(), json={"which": "api_key"}
    )
    assert (renamed.status_code, rotated.status_code) == (404, 404)


def test_rotating_the_api_key_shows_the_new_one_once_and_the_old_one_stops(
    client: httpx.Client, runtime: Runtime
) -> None:
    created = register(client, "acme")
    response = client.post(
        f"{TENANTS}/acme/secrets/rotate", headers=admin(), json={"which": "api_key"}
    )
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["which"] == "api_key"
    assert body["secret"].startswith("hubk_")
    stored = runtime.hub.tenant("acme")
    assert stored is not None
    assert [api_key_matches(body["secret"], h) for h in stored.api_key_hashes] == [True]
    assert not any(api_key_matches(created["api_key"], h) for h in stored.api_key_hashes)


def test_rotating_the_webhook_secret_seals_the_new_one(
    client: httpx.Client, runtime: Runtime
) -> None:
    created = register(client, "acme")
    response = client.post(
        f"{TENANTS}/acme/secrets/rotate", headers=admin(), json={"which": "webhook"}
    )
    assert response.status_code == 201
    new = response.json()["secret"]
    assert new.startswith("whsec_")
    assert new != created["webhook_secret"]
    stored = runtime.hub.tenant("acme")
    assert stored is not None
    assert new not in stored.webhook_secret_sealed
    assert runtime.box.decrypt(stored.webhook_secret_sealed, context="acme:webhook") == new


def test_rotation_needs_a_known_kind_of_secret(client: httpx.Client) -> None:
    register(client, "acme")
    response = client.post(f"{TENANTS}/acme/secrets/rotate", headers=admin(), json={"which": "x"})
    assert response.status_code == 422


def test_the_new_routes_need_the_admin_token(client: httpx.Client) -> None:
    assert client.get(TENANTS).status_code == 401
    assert client.patch(f"{TENANTS}/acme", json={"name": "A"}).status_code == 401
