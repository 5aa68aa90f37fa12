"""The developer API on real parts: the session's nats-server and uvicorn on loopback."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import httpx
import pytest

from tests.hub.http import conftest as http_fixtures
from tests.hub.http.conftest import ADMIN_TOKEN, admin

# The HTTP tests' fixtures, reused: a runtime on the session's NATS, the app, uvicorn.
runtime = http_fixtures.runtime
engine = http_fixtures.engine
readiness = http_fixtures.readiness
app = http_fixtures.app
base_url = http_fixtures.base_url
client = http_fixtures.client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@dataclass(frozen=True)
class ApiClient:
    client_id: str
    secret: str

    def token(self, http: httpx.Client, scope: str | None = None) -> str:
        form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
        answer = http.post(
            "/api/v1/oauth/token", data=form, headers=basic(self.client_id, self.secret)
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token


def make_tenant(http: httpx.Client, slug: str) -> None:
    answer = http.post("/api/v1/admin/tenants", headers=admin(), json={"slug": slug, "name": slug})
    assert answer.status_code == 201, answer.text


def make_client(
    http: httpx.Client, tenant: str, *scopes: str, token: str = ADMIN_TOKEN
) -> ApiClient:
    answer = http.post(
        f"/api/v1/admin/tenants/{tenant}/clients",
        headers=admin(token),
        json={"name": "test client", "scopes": list(scopes)},
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return ApiClient(body["client_id"], body["client_secret"])


@pytest.fixture
def tenants(client: httpx.Client) -> tuple[str, str]:
    """Two registered tenants."""
    make_tenant(client, "alpha")
    make_tenant(client, "beta")
    return "alpha", "beta"
