"""The hub as an LTI tool, launched by a platform of the tests' own (`platform_server`).

Shared by a module: one nats-server stream set, one hub on uvicorn, one platform per
tenant on uvicorn. Tenant "acme" is launched by `platform`, "beta" by `other`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from hub.bootstrap import Runtime, build_runtime
from hub.http import create_app, runtime_readiness
from hub.lti.tool.gate import LtiTool
from hub.lti.tool.jwks import JwksCache
from infra.settings import Settings
from infra.sql import make_engine
from tests.conftest import drop_streams, new_prefix
from tests.hub.http.conftest import ADMIN_TOKEN, admin
from tests.hub.http.live_server import live_server
from tests.lti.tool.platform_server import Platform, build_app, new_platform, parse_form_post


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lti-tool")


@pytest.fixture(scope="module")
def runtime(nats_url: str, module_dir: Path) -> Iterator[Runtime]:
    prefix = new_prefix()
    built = build_runtime(Settings(data_dir=module_dir, stream_prefix=prefix), nats_url)
    for tenant in ("acme", "beta"):
        built.hub.register_tenant(tenant, tenant.title(), built.box)
    yield built
    built.hub.close()
    drop_streams(nats_url, prefix)


@pytest.fixture(scope="module")
def app(runtime: Runtime, module_dir: Path) -> Iterator[FastAPI]:
    engine = make_engine(f"sqlite:///{module_dir / 'read.sqlite3'}")
    made = create_app(
        runtime, readiness=runtime_readiness(runtime, engine), admin_token=ADMIN_TOKEN
    )
    tool: LtiTool = made.state.lti_tool
    tool.jwks = JwksCache(min_refetch_s=0)  # every unknown kid refetches: rotation tests
    yield made
    engine.dispose()


@pytest.fixture(scope="module")
def hub_url(app: FastAPI) -> Iterator[str]:
    with live_server(app) as url:
        yield url


@pytest.fixture(scope="module")
def client(hub_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub_url, timeout=30) as made:
        yield made


def serve_platform(client: httpx.Client, hub_url: str, tenant: str) -> Iterator[Platform]:
    platform = new_platform()
    with live_server(build_app(platform)) as url:
        platform.base_url = url
        platform.tool_jwks_url = f"{hub_url}/t/{tenant}/api/lti/jwks.json"
        register(client, tenant, platform)
        yield platform


def register(
    client: httpx.Client, tenant: str, platform: Platform, **changes: Any
) -> dict[str, Any]:
    body = {
        "name": "Test LMS",
        "issuer": platform.issuer,
        "client_id": platform.client_id,
        "deployment_ids": [platform.deployment_id],
        "auth_login_url": f"{platform.base_url}/auth",
        "auth_token_url": f"{platform.base_url}/token",
        "jwks_url": f"{platform.base_url}/jwks",
        "allowed_hosts": ["127.0.0.1"],
        **changes,
    }
    response = client.put(f"/api/v1/admin/lti/tool/{tenant}/platforms", json=body, headers=admin())
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture(scope="module")
def platform(client: httpx.Client, hub_url: str) -> Iterator[Platform]:
    yield from serve_platform(client, hub_url, "acme")


@pytest.fixture(scope="module")
def other(client: httpx.Client, hub_url: str) -> Iterator[Platform]:
    yield from serve_platform(client, hub_url, "beta")


def login_params(platform: Platform, user: str) -> dict[str, str]:
    """A login initiation as the platform sends it."""
    return {
        "iss": platform.issuer,
        "login_hint": user,
        "target_link_uri": "https://tool.example/launch",
        "client_id": platform.client_id,
        "lti_deployment_id": platform.deployment_id,
    }


def login(
    client: httpx.Client, platform: Platform, user: str, tenant: str = "acme"
) -> tuple[str, dict[str, str]]:
    """The hub's login initiation: the platform's authorization URL it redirects to, and its
    query (state, nonce, redirect_uri ...)."""
    response = client.get(f"/t/{tenant}/api/lti/tool/login", params=login_params(platform, user))
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return location, query


def launch(
    client: httpx.Client, platform: Platform, user: str, tenant: str = "acme"
) -> httpx.Response:
    """The whole browser journey: login at the hub, authorize at the platform, post back."""
    location, _ = login(client, platform, user, tenant)
    page = httpx.get(location, timeout=10)
    assert page.status_code == 200, page.text
    action, fields = parse_form_post(page.text)
    return client.post(action, data=fields)


def post_launch(client: httpx.Client, token: str, state: str) -> httpx.Response:
    return client.post("/api/lti/tool/launch", data={"id_token": token, "state": state})
