"""The hub as a tool: rate limits on login and launch; a platform's registration updated."""

from __future__ import annotations

from typing import Any

import httpx

from hub.audit import rejections
from hub.bootstrap import Runtime
from hub.domain.lti_tool import PlatformRegistration, registration_id
from infra.nats_client import NatsConnection
from tests.hub.http.conftest import admin
from tests.lti.tool.conftest import launch, login, login_params, register
from tests.lti.tool.platform_server import Platform, user
from tests.lti.tool.test_launch_security import refused


def set_limits(client: httpx.Client, tenant: str, limits: dict[str, Any]) -> None:
    response = client.put(
        f"/api/v1/admin/tenants/{tenant}/lti/rate-limits", headers=admin(), json=limits
    )
    assert response.status_code == 200, response.text


def test_past_a_platform_s_launch_limit_launches_get_a_429_on_record(
    client: httpx.Client, platform: Platform, runtime: Runtime
) -> None:
    user(platform, "u-busy", name="Bu Sy", email="busy@school.example")
    set_limits(client, "acme", {"client": {"launch": 2}})
    assert [launch(client, platform, "u-busy").status_code for _ in range(2)] == [303, 303]
    _, query = login(client, platform, "u-busy")
    token = platform.sign(platform.claims(user="u-busy", nonce=query["nonce"]))
    refused(client, runtime, token, query["state"], 429, "rate_limited")
    set_limits(client, "acme", {"client": {"launch": 100}})
    assert launch(client, platform, "u-busy").status_code == 303


def test_a_tenant_s_login_limit_leaves_other_tenants_alone(
    client: httpx.Client, platform: Platform, other: Platform, runtime: Runtime
) -> None:
    set_limits(client, "beta", {"tenant": {"login": 1}})
    login(client, other, "u-1", tenant="beta")
    params = login_params(other, "u-1")
    before = runtime.hub.recorder.max_notification_id()
    second = client.get("/t/beta/api/lti/tool/login", params=params)
    assert second.status_code == 429
    assert second.json()["reason"] == "rate_limited"
    assert second.headers["ratelimit-limit"] == "1"
    assert 1 <= int(second.headers["retry-after"]) <= 60
    assert runtime.hub.recorder.max_notification_id() == before
    connection = NatsConnection.shared(runtime.nats_url)
    recorded = rejections(connection, runtime.settings.stream_prefix, "beta", kind="lti-login")
    assert recorded[-1].reason == "rate_limited"
    login(client, platform, "u-1")  # acme's window is its own


def test_a_platform_s_update_is_an_event_and_a_removed_deployment_refuses_launches(
    client: httpx.Client, platform: Platform, runtime: Runtime
) -> None:
    user(platform, "u-dep", name="De Ployed", email="dep@school.example")
    the_id = registration_id("acme", platform.issuer, platform.client_id)
    before: int = runtime.hub.repository.get(the_id).version
    _, started = login(client, platform, "u-dep")  # begun while dep-1 was registered

    register(client, "acme", platform, deployment_ids=["dep-2"])
    stored: PlatformRegistration = runtime.hub.repository.get(the_id)
    assert isinstance(stored, PlatformRegistration)
    assert (stored.version, stored.deployment_ids) == (before + 1, ["dep-2"])
    token = platform.sign(platform.claims(user="u-dep", nonce=started["nonce"]))
    refused(client, runtime, token, started["state"], 401, "deployment_unknown")
    again = client.get("/t/acme/api/lti/tool/login", params=login_params(platform, "u-dep"))
    assert again.status_code == 401
    assert again.json()["reason"] == "deployment_unknown"

    register(client, "acme", platform)
    assert launch(client, platform, "u-dep").status_code == 303
