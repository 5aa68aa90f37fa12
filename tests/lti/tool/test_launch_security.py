"""Seed 003's security checklist for the hub as a tool: each a precise 4xx, nothing changed.

Every refusal is on record in the audit stream with its reason, and the event log did
not move between the login and the refused launch.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import pytest
from joserfc.jwk import RSAKey

from hub.audit import rejections
from hub.bootstrap import Runtime
from hub.domain.lti_tool import LtiLaunch, PlatformRegistration, launch_id, registration_id
from infra.nats_client import NatsConnection
from tests.lti.tool.conftest import launch, login, post_launch
from tests.lti.tool.platform_server import LTI, Platform, new_key, parse_form_post, user


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join(
        (_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(signature))
    )


def hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    head = _b64(json.dumps({"alg": "HS256", "kid": kid}).encode())
    body = _b64(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def refused(
    client: httpx.Client,
    runtime: Runtime,
    token: str,
    state: str,
    status: int,
    reason: str,
    tenant: str | None = "acme",
) -> None:
    """The launch is refused with `status` and `reason`, recorded, and nothing is written."""
    before = runtime.hub.recorder.max_notification_id()
    response = post_launch(client, token, state)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"https://hub.example/problems/lti-{reason.replace('_', '-')}"
    assert problem["reason"] == reason
    assert runtime.hub.recorder.max_notification_id() == before
    connection = NatsConnection.shared(runtime.nats_url)
    prefix = runtime.settings.stream_prefix
    recorded = rejections(connection, prefix, tenant or "_unknown", kind="lti-launch", limit=1000)
    assert recorded[-1].reason == reason


@pytest.fixture
def fresh(client: httpx.Client, platform: Platform) -> dict[str, str]:
    user(platform, "u-sec", name="Sec Urity", email="sec@school.example")
    _, query = login(client, platform, "u-sec")
    return query


def claims_for(platform: Platform, query: dict[str, str], **overrides: Any) -> dict[str, Any]:
    return platform.claims(user="u-sec", nonce=query["nonce"], **overrides)


def test_a_replayed_state_is_refused(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    token = platform.sign(claims_for(platform, fresh))
    assert post_launch(client, token, fresh["state"]).status_code == 303

    refused(client, runtime, token, fresh["state"], 401, "state_replayed")


def test_a_replayed_nonce_under_a_new_state_is_refused(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    token = platform.sign(claims_for(platform, fresh))
    assert post_launch(client, token, fresh["state"]).status_code == 303
    _, second = login(client, platform, "u-sec")

    refused(client, runtime, token, second["state"], 401, "nonce_mismatch")


def test_the_same_launch_posted_twice_at_once_is_accepted_once(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    page = httpx.get(f"{platform.base_url}/auth", params=fresh, timeout=10)
    action, fields = parse_form_post(page.text)
    with httpx.Client(base_url=str(client.base_url), timeout=30) as other:
        statuses = sorted(c.post(action, data=fields).status_code for c in (client, other))
    assert statuses[0] == 303
    assert statuses[1] in {303, 401}
    stored: LtiLaunch = runtime.hub.repository.get(launch_id("acme", fresh["state"]))
    assert stored.version == 2  # Initiated, Accepted: never twice


def test_a_wrong_issuer_is_refused(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    token = platform.sign(claims_for(platform, fresh, iss="https://evil.example"))
    refused(client, runtime, token, fresh["state"], 400, "platform_unknown", tenant=None)


def test_a_wrong_audience_is_refused(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    token = platform.sign(claims_for(platform, fresh, aud="another-tool"))
    refused(client, runtime, token, fresh["state"], 400, "platform_unknown", tenant=None)


def test_an_audience_that_leaves_us_out_is_refused_although_azp_names_us(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    claims = claims_for(platform, fresh, aud=["another-tool"], azp=platform.client_id)
    refused(client, runtime, platform.sign(claims), fresh["state"], 401, "audience_mismatch")


def test_several_audiences_without_azp_are_refused(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    claims = claims_for(platform, fresh, aud=[platform.client_id, "another-tool"])
    refused(client, runtime, platform.sign(claims), fresh["state"], 401, "azp_mismatch")


def test_a_wrong_deployment_is_refused(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    claims = claims_for(platform, fresh, **{LTI + "deployment_id": "dep-unknown"})
    refused(client, runtime, platform.sign(claims), fresh["state"], 401, "deployment_unknown")


def test_an_unknown_kid_is_refused_after_one_refetch(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    stranger = new_key()
    token = platform.sign(
        claims_for(platform, fresh), key=stranger, header={"alg": "RS256", "kid": "nobody"}
    )
    refused(client, runtime, token, fresh["state"], 401, "kid_unknown")


def test_a_missing_kid_is_refused(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    token = platform.sign(claims_for(platform, fresh), header={"alg": "RS256"})
    refused(client, runtime, token, fresh["state"], 401, "kid_missing", tenant=None)


def test_a_token_signed_by_another_key_under_the_platforms_kid_is_refused(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    forger: RSAKey = new_key()
    header = {"alg": "RS256", "kid": platform.signing_key.kid}
    token = platform.sign(claims_for(platform, fresh), key=forger, header=header)
    refused(client, runtime, token, fresh["state"], 401, "signature_invalid")


def test_alg_none_is_refused(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    token = unsigned({"alg": "none", "kid": platform.signing_key.kid}, claims_for(platform, fresh))
    refused(client, runtime, token, fresh["state"], 401, "token_algorithm", tenant=None)


def test_hs256_keyed_with_the_platforms_public_key_is_refused(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    public = json.dumps(platform.jwks()["keys"][-1]).encode()
    token = hs256(claims_for(platform, fresh), public, platform.signing_key.kid or "")
    refused(client, runtime, token, fresh["state"], 401, "token_algorithm", tenant=None)


def test_an_expired_token_is_refused(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    now = int(time.time())
    claims = claims_for(platform, fresh, iat=now - 600, exp=now - 61)
    refused(client, runtime, platform.sign(claims), fresh["state"], 401, "token_expired")


def test_a_token_issued_in_the_future_is_refused(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    now = int(time.time())
    claims = claims_for(platform, fresh, iat=now + 120, exp=now + 600)
    refused(client, runtime, platform.sign(claims), fresh["state"], 401, "token_not_yet_valid")


def test_a_state_the_hub_never_issued_is_refused(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    token = platform.sign(claims_for(platform, fresh))
    refused(client, runtime, token, "acme.made-up-state", 401, "state_unknown")


def test_a_login_older_than_ten_minutes_is_refused(
    client: httpx.Client, platform: Platform, runtime: Runtime
) -> None:
    registration: PlatformRegistration = runtime.hub.repository.get(
        registration_id("acme", platform.issuer, platform.client_id)
    )
    old = LtiLaunch(
        tenant="acme",
        state="acme.an-old-state",
        nonce="old-nonce",
        registration_id=registration.id,
        issuer=platform.issuer,
        client_id=platform.client_id,
        login_hint="u-sec",
        target_link_uri="https://tool.example/launch",
        lti_message_hint=None,
        deployment_id=None,
        issued_at=int(time.time()) - 601,
    )
    runtime.hub.save(old)
    token = platform.sign(platform.claims(user="u-sec", nonce="old-nonce"))
    refused(client, runtime, token, "acme.an-old-state", 401, "state_expired")


def test_missing_lti_claims_are_refused(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    claims = claims_for(platform, fresh, **{LTI + "message_type": None, LTI + "version": None})
    refused(client, runtime, platform.sign(claims), fresh["state"], 422, "claims_missing")


def test_another_tenants_platform_cannot_use_this_tenants_login(
    client: httpx.Client,
    platform: Platform,
    other: Platform,
    runtime: Runtime,
    fresh: dict[str, str],
) -> None:
    token = other.sign(other.claims(user="u-sec", nonce=fresh["nonce"]))
    refused(client, runtime, token, fresh["state"], 400, "platform_unknown", tenant=None)


def test_another_tenants_login_does_not_accept_this_tenants_platform(
    client: httpx.Client, platform: Platform, other: Platform, runtime: Runtime
) -> None:
    response = client.get(
        "/t/beta/api/lti/tool/login",
        params={
            "iss": platform.issuer,
            "login_hint": "u-sec",
            "target_link_uri": "https://tool.example/launch",
            "client_id": platform.client_id,
        },
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "platform_unknown"


def test_the_other_tenants_own_platform_launches_into_its_tenant(
    client: httpx.Client, other: Platform, runtime: Runtime
) -> None:
    user(other, "u-beta", name="Bea Ta", email="bea@beta.example")
    response = launch(client, other, "u-beta", tenant="beta")
    assert response.status_code == 303, response.text
    assert "beta." in response.headers["location"]


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"state": "acme.x"}, "form_invalid"),
        ({"id_token": "a.b", "state": "acme.x"}, "token_malformed"),
    ],
)
def test_malformed_launch_forms_are_refused(
    client: httpx.Client, runtime: Runtime, form: dict[str, str], reason: str
) -> None:
    before = runtime.hub.recorder.max_notification_id()
    response = client.post("/api/lti/tool/launch", data=form)
    assert response.status_code in {400, 401}
    assert response.json()["reason"] == reason
    assert runtime.hub.recorder.max_notification_id() == before


def test_fractional_numeric_dates_are_accepted(
    client: httpx.Client, platform: Platform, fresh: dict[str, str]
) -> None:
    now = time.time()
    claims = claims_for(platform, fresh, iat=now - 5.5, exp=now + 300.25)
    assert post_launch(client, platform.sign(claims), fresh["state"]).status_code == 303


def test_times_that_are_not_numbers_are_refused(
    client: httpx.Client, platform: Platform, runtime: Runtime, fresh: dict[str, str]
) -> None:
    claims = claims_for(platform, fresh, exp="tomorrow")
    refused(client, runtime, platform.sign(claims), fresh["state"], 422, "claims_invalid")
