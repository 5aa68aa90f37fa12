"""Rate limits on the platform's endpoints, set per tenant; a tool's registration updated."""

from __future__ import annotations

from typing import Any

import httpx

from hub.domain.lti_platform import LtiToolRegistration, registration_id
from schemas.lti import SCOPE_NRPS
from tests.hub.http.conftest import admin
from tests.lti.platform.oauth import access_token, bearer, claims_for, request_token, sign
from tests.lti.platform.pylti_tool import public_jwk
from tests.lti.platform.test_security import refused
from tests.lti.platform.world import World, tool_settings


def set_limits(client: httpx.Client, tenant: str, limits: dict[str, Any]) -> httpx.Response:
    return client.put(
        f"/api/v1/admin/tenants/{tenant}/lti/rate-limits", headers=admin(), json=limits
    )


def assert_limited(response: httpx.Response, limit: int) -> None:
    assert response.headers["ratelimit-limit"] == str(limit)
    assert response.headers["ratelimit-remaining"] == "0"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert 1 <= int(response.headers["ratelimit-reset"]) <= 60


def test_limits_are_the_defaults_until_an_admin_sets_them(client: httpx.Client) -> None:
    url = "/api/v1/admin/tenants/beta/lti/rate-limits"
    shown = client.get(url, headers=admin())
    assert shown.status_code == 200
    assert shown.json()["tenant"]["ags"] == 12_000
    assert shown.json()["client"]["token"] == 120
    first = set_limits(client, "beta", {"tenant": {"launch": 50}})
    again = set_limits(client, "beta", {"tenant": {"launch": 50}})
    assert first.json()["changed"] is True
    assert again.json() | {"changed": True, "position": first.json()["position"]} == first.json()
    assert client.get(url, headers=admin()).json()["tenant"]["launch"] == 50
    assert (
        client.get("/api/v1/admin/tenants/acme/lti/rate-limits", headers=admin()).json()["tenant"][
            "launch"
        ]
        == 1200
    )
    wrong = set_limits(client, "beta", {"tenant": {"everything": 5}})
    assert wrong.status_code == 422
    zero = set_limits(client, "beta", {"client": {"ags": 0}})
    assert zero.status_code == 422
    assert set_limits(client, "nowhere", {}).status_code == 404


def test_past_a_tool_s_nrps_limit_it_gets_a_429_on_record(world: World) -> None:
    token = access_token(world, (SCOPE_NRPS,))
    assert set_limits(world.client, world.tenant, {"client": {"nrps": 2}}).status_code == 200
    url = f"/t/{world.tenant}/api/lti/nrps/contexts/{world.context_id}/memberships"
    for _ in range(2):
        assert world.client.get(url, headers=bearer(token)).status_code == 200
    with refused(world, 429, "rate_limited") as got:
        got.append(world.client.get(url, headers=bearer(token)))
    assert_limited(got[0], 2)
    # The tool's other services have limits of their own.
    items = f"/t/{world.tenant}/api/lti/ags/contexts/{world.context_id}/lineitems"
    assert world.client.get(items, headers=bearer(access_token(world))).status_code == 200
    # Raising the limit applies at once in this process.
    assert set_limits(world.client, world.tenant, {"client": {"nrps": 100}}).status_code == 200
    assert world.client.get(url, headers=bearer(token)).status_code == 200


def test_a_tenant_s_token_limit_counts_every_request_and_no_other_tenant_s(
    world: World,
) -> None:
    assert set_limits(world.client, "beta", {"tenant": {"token": 1}}).status_code == 200
    assertion = sign(claims_for(world), world.tool.key)  # acme's tool: refused by beta
    assert request_token(world, assertion, tenant="beta").status_code == 400  # unknown tool
    with refused(world, 429, "rate_limited") as got:
        got.append(request_token(world, assertion, tenant="beta"))
    assert_limited(got[0], 1)
    assert request_token(world, assertion).status_code == 200  # acme is not beta


def test_a_tool_s_registration_is_updated_and_a_removed_deployment_launches_no_more(
    world: World,
) -> None:
    client, hub = world.client, world.runtime.hub
    url = f"/api/v1/admin/tenants/{world.tenant}/lti/tools/{world.client_id}"
    settings = client.get(url, headers=admin()).json()["settings"]
    before: int = hub.repository.get(registration_id(world.tenant, world.client_id)).version
    login = world.start(f"/t/{world.tenant}/lti/launch/{world.link_id}", "s1")
    authorize_url = world.tool.login(login)  # a hint issued while dep-1 was registered

    moved = client.put(url, headers=admin(), json=settings | {"deployment_ids": ["dep-2"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["changed"] is True
    tool: LtiToolRegistration = hub.repository.get(registration_id(world.tenant, world.client_id))
    assert isinstance(tool, LtiToolRegistration)
    assert (tool.version, tool.deployment_ids) == (before + 1, ["dep-2"])
    with refused(world, 400, "deployment_unknown") as got:
        got.append(world.authorize(authorize_url, "s1"))
    launch = world.client.get(
        f"/t/{world.tenant}/lti/launch/{world.link_id}", headers={"Cookie": world.cookie("s1")}
    )
    assert launch.status_code == 400
    assert launch.json()["reason"] == "deployment_unknown"

    back = client.put(url, headers=admin(), json=settings)
    assert back.json()["changed"] is True
    same = client.put(url, headers=admin(), json=settings)
    assert (same.json()["changed"], same.json()["position"]) == (False, None)
    assert world.launch("s1").get_launch_data()["sub"] == world.people["s1"]


def test_a_tool_update_cannot_change_its_client_id_nor_reach_an_unknown_tool(
    world: World,
) -> None:
    base = f"/api/v1/admin/tenants/{world.tenant}/lti/tools"
    renamed = world.client.put(
        f"{base}/{world.client_id}",
        headers=admin(),
        json=tool_settings(client_id="other", public_jwk=public_jwk(world.tool.key)),
    )
    assert renamed.status_code == 400
    assert renamed.json()["type"].endswith("/lti-request-invalid")
    unknown = world.client.put(
        f"{base}/nobody", headers=admin(), json=tool_settings(jwks_url="https://tool.example/k")
    )
    assert unknown.status_code == 400
    assert unknown.json()["type"].endswith("/lti-registration-unknown")
    other_tenant = world.client.put(
        f"/api/v1/admin/tenants/beta/lti/tools/{world.client_id}",
        headers=admin(),
        json=tool_settings(jwks_url="https://tool.example/k"),
    )
    assert other_tenant.json()["type"].endswith("/lti-registration-unknown")
