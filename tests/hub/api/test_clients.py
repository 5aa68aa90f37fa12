"""API clients over HTTP: registration (secret once), the token endpoint, scopes, tenants."""

from __future__ import annotations

import time

import httpx
from fastapi import FastAPI

from hub.api.clients import ApiTokens, read_client, revoke_client
from hub.bootstrap import Runtime
from hub.domain.api_clients import api_client_id
from hub.spark.sessions import session_key
from tests.hub.api.conftest import admin, basic, bearer, make_client

EVENTS = "/api/v1/tenants/{}/events"


def test_a_client_s_secret_is_shown_once_and_stored_hashed(
    client: httpx.Client, runtime: Runtime, tenants: tuple[str, str]
) -> None:
    answer = client.post(
        "/api/v1/admin/tenants/alpha/clients",
        headers=admin(),
        json={"name": "Gradebook", "scopes": ["portfolio:read", "events:read"]},
    )
    assert answer.status_code == 201
    assert answer.headers["cache-control"] == "no-store"
    created = answer.json()
    assert created["client_id"].startswith("alpha.")
    assert created["client_secret"].startswith("hubcs_")
    assert (
        answer.headers["location"] == f"/api/v1/admin/tenants/alpha/clients/{created['client_id']}"
    )
    stored = read_client(runtime.hub, "alpha", created["client_id"])
    assert created["client_secret"] not in str(vars(stored))
    read = client.get(answer.headers["location"], headers=admin())
    listed = client.get("/api/v1/admin/tenants/alpha/clients", headers=admin())
    for shown in (read, listed):
        assert shown.status_code == 200
        assert created["client_secret"] not in shown.text
    assert read.json() == {
        "client_id": created["client_id"],
        "name": "Gradebook",
        "scopes": ["portfolio:read", "events:read"],
        "revoked": False,
    }
    assert [c["client_id"] for c in listed.json()["clients"]] == [created["client_id"]]


def test_the_registration_records_its_admin_actor(
    client: httpx.Client, runtime: Runtime, tenants: tuple[str, str]
) -> None:
    tenant_admin = make_client(client, "alpha", "admin")
    token = tenant_admin.token(client)
    made = make_client(client, "alpha", "events:read", token=token)
    event = next(
        iter(runtime.hub.repository.event_store.get(api_client_id("alpha", made.client_id)))
    )
    assert event.context["source"] == "http:admin"  # type: ignore[attr-defined]
    assert event.context["verified_by"] == f"client:{tenant_admin.client_id}"  # type: ignore[attr-defined]


def test_tokens_come_by_basic_auth_or_form_fields_with_a_subset_of_scopes(
    client: httpx.Client, tenants: tuple[str, str]
) -> None:
    made = make_client(client, "alpha", "portfolio:read", "events:read")
    by_form = client.post(
        "/api/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": made.client_id,
            "client_secret": made.secret,
            "scope": "events:read",
        },
    )
    assert by_form.status_code == 200
    assert by_form.headers["cache-control"] == "no-store"
    body = by_form.json()
    assert body["token_type"] == "bearer"
    assert body["scope"] == "events:read"
    assert body["expires_in"] == 3600
    narrowed = bearer(body["access_token"])
    assert client.get(EVENTS.format("alpha"), headers=narrowed).status_code == 200
    portfolio = client.get("/api/v1/tenants/alpha/learners", headers=narrowed)
    assert portfolio.status_code == 403  # the token holds events:read only
    full = client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(made.client_id, made.secret),
    )
    assert full.json()["scope"] == "portfolio:read events:read"


def test_wrong_credentials_and_bad_requests_are_oauth_errors(
    client: httpx.Client, tenants: tuple[str, str]
) -> None:
    made = make_client(client, "alpha", "events:read")
    grant = {"grant_type": "client_credentials"}
    wrong = client.post("/api/v1/oauth/token", data=grant, headers=basic(made.client_id, "nope"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    unknown = client.post("/api/v1/oauth/token", data=grant, headers=basic("alpha.00", "x"))
    assert unknown.json()["error"] == "invalid_client"
    too_much = client.post(
        "/api/v1/oauth/token",
        data=grant | {"scope": "admin"},
        headers=basic(made.client_id, made.secret),
    )
    assert (too_much.status_code, too_much.json()["error"]) == (400, "invalid_scope")
    other_grant = client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "password"},
        headers=basic(made.client_id, made.secret),
    )
    assert other_grant.json()["error"] == "unsupported_grant_type"
    missing = client.post("/api/v1/oauth/token", data={})
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")


def test_a_read_scope_client_that_writes_is_refused_with_insufficient_scope(
    client: httpx.Client, tenants: tuple[str, str]
) -> None:
    reader = make_client(client, "alpha", "portfolio:read", "roster:read", "events:read")
    learner = "alpha.Learner." + "0" * 32
    task = "alpha.Task." + "1" * 32
    answer = client.post(
        f"/api/v1/tenants/alpha/learners/{learner}/tasks/{task}/scores",
        headers=bearer(reader.token(client)),
        json={"score": 9},
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "https://hub.example/problems/insufficient-scope"
    assert answer.headers["www-authenticate"] == (
        'Bearer realm="hub", error="insufficient_scope", scope="scores:write"'
    )


def test_a_client_of_tenant_a_cannot_read_tenant_b(
    client: httpx.Client, tenants: tuple[str, str]
) -> None:
    alpha = make_client(client, "alpha", "events:read", "admin")
    token = bearer(alpha.token(client))
    assert client.get(EVENTS.format("alpha"), headers=token).status_code == 200
    answer = client.get(EVENTS.format("beta"), headers=token)
    assert answer.status_code == 403
    assert answer.json()["type"] == "https://hub.example/problems/other-tenant"


def test_the_admin_api_needs_the_admin_scope(
    client: httpx.Client, tenants: tuple[str, str]
) -> None:
    reader = make_client(client, "alpha", "events:read")
    answer = client.get("/api/v1/admin/tenants/alpha/clients", headers=bearer(reader.token(client)))
    assert answer.status_code == 403
    assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]
    existing = client.get("/api/v1/admin/tenants/alpha", headers=bearer(reader.token(client)))
    assert existing.status_code == 403  # the older admin routes (AdminDep) too


def test_a_tenant_admin_client_manages_its_own_tenant_only(
    client: httpx.Client, tenants: tuple[str, str]
) -> None:
    token = bearer(make_client(client, "alpha", "admin").token(client))
    assert client.get("/api/v1/admin/tenants/alpha", headers=token).status_code == 200
    assert client.get("/api/v1/admin/tenants/alpha/clients", headers=token).status_code == 200
    other = client.post(
        "/api/v1/admin/tenants/beta/clients",
        headers=token,
        json={"name": "mine now", "scopes": ["admin"]},
    )
    assert other.status_code == 403
    assert client.get("/api/v1/admin/tenants/beta", headers=token).status_code == 403
    new_tenant = client.post(
        "/api/v1/admin/tenants", headers=token, json={"slug": "x", "name": "x"}
    )
    assert new_tenant.status_code == 403  # no tenant in the path: the hub admin's alone
    assert client.get("/api/v1/admin/tenants/beta/clients", headers=admin()).json() == {
        "clients": []
    }


def test_forged_expired_and_revoked_tokens_are_refused(
    client: httpx.Client, runtime: Runtime, tenants: tuple[str, str]
) -> None:
    made = make_client(client, "alpha", "events:read")
    token = made.token(client)
    body, _, mac = token.partition(".")
    forged = f"{body}.{mac[:-2]}{'AA' if not mac.endswith('AA') else 'BB'}"
    assert client.get(EVENTS.format("alpha"), headers=bearer(forged)).status_code == 401
    tokens = ApiTokens(session_key(runtime.settings), ttl_s=60, client_cache_s=30)
    stored = read_client(runtime.hub, "alpha", made.client_id)
    expired = tokens.issue(stored, ("events:read",), int(time.time()) - 120)
    answer = client.get(EVENTS.format("alpha"), headers=bearer(expired))
    assert answer.status_code == 401
    assert answer.json()["detail"] == "the access token has expired"
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]

    assert client.get(EVENTS.format("alpha"), headers=bearer(token)).status_code == 200
    revoked = client.delete(
        f"/api/v1/admin/tenants/alpha/clients/{made.client_id}", headers=admin()
    )
    assert revoked.status_code == 200
    assert revoked.json()["revoked"] is True
    after = client.get(EVENTS.format("alpha"), headers=bearer(token))
    assert after.status_code == 401
    assert after.json()["detail"] == "the client of this access token is revoked"
    again = client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(made.client_id, made.secret),
    )
    assert (again.status_code, again.json()["error"]) == (401, "invalid_client")
    twice = client.delete(f"/api/v1/admin/tenants/alpha/clients/{made.client_id}", headers=admin())
    assert twice.status_code == 409


def test_a_revocation_recorded_elsewhere_is_seen_within_the_cache_time(
    client: httpx.Client, app: FastAPI, runtime: Runtime, tenants: tuple[str, str]
) -> None:
    """Another process's revocation: this one trusts what it read for `client_cache_s`."""
    now = [1000.0]
    app.state.api_tokens = ApiTokens(
        session_key(runtime.settings), ttl_s=3600, client_cache_s=30, clock=lambda: now[0]
    )
    made = make_client(client, "alpha", "events:read")
    token = bearer(made.token(client))
    revoke_client(runtime.hub, "alpha", made.client_id, reason="by another process")
    assert client.get(EVENTS.format("alpha"), headers=token).status_code == 200
    now[0] += 31
    assert client.get(EVENTS.format("alpha"), headers=token).status_code == 401


def test_unknown_scopes_and_tenants_are_422_and_404_problems(
    client: httpx.Client, tenants: tuple[str, str]
) -> None:
    bad_scope = client.post(
        "/api/v1/admin/tenants/alpha/clients",
        headers=admin(),
        json={"name": "x", "scopes": ["everything"]},
    )
    assert bad_scope.status_code == 422
    nobody = client.post(
        "/api/v1/admin/tenants/nobody/clients",
        headers=admin(),
        json={"name": "x", "scopes": ["admin"]},
    )
    assert nobody.status_code == 404
    unknown = client.get(
        "/api/v1/admin/tenants/alpha/clients/alpha.0123456789abcdef", headers=admin()
    )
    assert unknown.status_code == 404
