"""A tool that publishes a JWKS URL: fetched through the SSRF guard, cached, refetched once
on an unknown kid; and the platform's own key rotation, seen by a pylti1p3 tool."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from hub.lti.platform.errors import LtiRejectedError
from hub.lti.platform.hints import issue_hint, open_hint
from hub.lti.platform.state import LtiPlatform
from tests.hub.http.conftest import admin
from tests.hub.http.live_server import live_server
from tests.lti.platform.oauth import claims_for, request_token, sign
from tests.lti.platform.pylti_tool import new_key, public_jwk
from tests.lti.platform.world import World, register_tool


class ToolJwks:
    """The tool's JWKS endpoint, whose keys a test changes."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        self.app = FastAPI()

        @self.app.get("/jwks.json")
        def jwks() -> dict[str, Any]:
            self.fetches += 1
            return {"keys": self.keys}


@pytest.fixture(scope="module")
def tool_jwks() -> Iterator[tuple[ToolJwks, str]]:
    served = ToolJwks()
    with live_server(served.app) as url:
        yield served, f"{url}/jwks.json"


def test_a_tools_jwks_url_is_fetched_once_and_refetched_for_a_new_kid(
    world: World, app: FastAPI, tool_jwks: tuple[ToolJwks, str]
) -> None:
    served, url = tool_jwks
    platform: LtiPlatform = app.state.lti_platform
    first, second = new_key(), new_key()
    served.keys = [public_jwk(first)]
    client_id = register_tool(world.client, world.tenant, jwks_url=url)["client_id"]
    claims = {"iss": client_id, "sub": client_id}

    platform.tool_keys.allowed_hosts.clear()  # the SSRF guard refuses loopback by default
    refused = request_token(world, sign(claims_for(world, **claims), first))
    assert (refused.status_code, refused.json()["reason"]) == (400, "tool_keys_unavailable")

    platform.tool_keys.allowed_hosts.add("127.0.0.1")
    for _ in range(2):
        assert request_token(world, sign(claims_for(world, **claims), first)).status_code == 200
    assert served.fetches == 1  # cached
    served.keys = [public_jwk(first), public_jwk(second)]  # the tool rotates
    assert request_token(world, sign(claims_for(world, **claims), second)).status_code == 200
    assert served.fetches == 2  # one refetch for the unknown kid
    unknown = request_token(world, sign(claims_for(world, **claims), second, kid="gone"))
    assert (unknown.status_code, unknown.json()["reason"]) == (401, "assertion_kid")
    assert served.fetches == 3  # refetched once more, then refused


def test_after_the_platform_rotates_its_key_a_tool_still_validates_launches(world: World) -> None:
    keys_url = f"/api/v1/admin/tenants/{world.tenant}/lti/keys"
    old = world.client.get(keys_url, headers=admin()).json()["keys"]
    rotated = world.client.post(keys_url + "/rotate", headers=admin())
    assert rotated.status_code == 200
    new_kid = rotated.json()["kid"]
    published = world.client.get(f"/t/{world.tenant}/api/lti/jwks.json").json()["keys"]
    assert [k["kid"] for k in published] == [new_kid, *(k["kid"] for k in old)]
    launch = world.launch("s1")
    assert launch.get_launch_data()["sub"] == world.people["s1"]
    retired = world.client.post(f"{keys_url}/{old[0]['kid']}/retire", headers=admin())
    assert retired.status_code == 200
    active = world.client.post(f"{keys_url}/{new_kid}/retire", headers=admin())
    assert active.status_code == 422  # the active key cannot be retired
    published = world.client.get(f"/t/{world.tenant}/api/lti/jwks.json").json()["keys"]
    assert [k["kid"] for k in published] == [new_kid]


def test_a_hint_expires_after_ten_minutes(world: World) -> None:
    box, tenant = world.runtime.box, world.tenant
    hint = issue_hint(
        box,
        tenant,
        client_id="c",
        deployment_id="d",
        message_type="LtiResourceLinkRequest",
        user_id="u",
        role="student",
        context_id=None,
        link_id="l",
        now=1_000,
    )
    assert open_hint(box, tenant, hint, now=1_600).user_id == "u"
    with pytest.raises(LtiRejectedError) as expired:
        open_hint(box, tenant, hint, now=1_601)
    assert expired.value.reason == "hint_expired"
    with pytest.raises(LtiRejectedError) as elsewhere:
        open_hint(box, "beta", hint, now=1_000)  # sealed for acme: beta cannot open it
    assert elsewhere.value.reason == "hint_invalid"


def test_an_admin_reads_a_tool_and_can_drop_its_cached_jwks(
    world: World, app: FastAPI, tool_jwks: tuple[ToolJwks, str]
) -> None:
    served, url = tool_jwks
    platform: LtiPlatform = app.state.lti_platform
    platform.tool_keys.allowed_hosts.add("127.0.0.1")
    key = new_key()
    served.keys = [public_jwk(key)]
    client_id = register_tool(world.client, world.tenant, jwks_url=url)["client_id"]
    base = f"/api/v1/admin/tenants/{world.tenant}/lti/tools/{client_id}"
    read = world.client.get(base, headers=admin()).json()
    assert read["settings"]["jwks_url"] == url
    assert read["platform"]["token_url"].endswith(f"/t/{world.tenant}/api/lti/platform/token")
    claims = {"iss": client_id, "sub": client_id}
    assert request_token(world, sign(claims_for(world, **claims), key)).status_code == 200
    fetched = served.fetches
    assert world.client.post(base + "/keys/refresh", headers=admin()).status_code == 200
    assert request_token(world, sign(claims_for(world, **claims), key)).status_code == 200
    assert served.fetches == fetched + 1
    missing = world.client.get(
        f"/api/v1/admin/tenants/{world.tenant}/lti/tools/nobody", headers=admin()
    )
    assert (missing.status_code, missing.json()["type"].rsplit("/", 1)[1]) == (
        400,
        "lti-registration-unknown",
    )
