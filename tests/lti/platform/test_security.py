"""The seed's security checklist, on the hub as platform: each attempt is a precise 4xx
problem, its rejection is in the audit stream, and nothing is written to the event log."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from hub.audit import rejections
from infra.nats_client import NatsConnection
from schemas.lti import LINEITEM_MEDIA, SCOPE_NRPS, SCOPE_SCORE
from tests.lti.platform.oauth import (
    access_token,
    bearer,
    claims_for,
    hs256,
    request_token,
    sign,
    unsigned,
)
from tests.lti.platform.pylti_tool import new_key, public_jwk
from tests.lti.platform.world import World, form_fields, register_tool


@contextmanager
def refused(world: World, status: int, reason: str) -> Iterator[list[httpx.Response]]:
    """The responses appended inside must be one problem of `reason`, audited, log unchanged."""
    hub = world.runtime.hub
    settings = world.runtime.settings
    connection = NatsConnection.shared(world.runtime.nats_url)
    before = hub.recorder.max_notification_id()
    audited = rejections(connection, settings.stream_prefix, limit=1000)
    responses: list[httpx.Response] = []
    yield responses
    [response] = responses
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["reason"] == reason
    assert body["type"].endswith("lti-" + reason.replace("_", "-"))
    assert hub.recorder.max_notification_id() == before
    after = rejections(
        connection, settings.stream_prefix, after=audited[-1].position if audited else 0
    )
    assert [r.reason for r in after] == [reason]


# -- the token endpoint: the client assertion ----------------------------------------------


def test_a_replayed_jti_is_refused(world: World) -> None:
    assertion = sign(claims_for(world), world.tool.key)
    assert request_token(world, assertion).status_code == 200
    with refused(world, 401, "assertion_replayed") as got:
        got.append(request_token(world, assertion))


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"iss": "not-a-client"}, 400, "registration_unknown"),
        ({"aud": "https://elsewhere.example/token"}, 401, "assertion_audience"),
        ({"iat": -600, "exp": -300}, 401, "assertion_expired"),
        ({"iat": 300, "exp": 360}, 401, "assertion_not_yet_valid"),
        ({"sub": "someone-else"}, 401, "assertion_claims"),
        ({"jti": None}, 401, "assertion_claims"),
    ],
    ids=["wrong-iss", "wrong-aud", "expired", "future-iat", "wrong-sub", "no-jti"],
)
def test_an_assertion_with_wrong_claims_is_refused(
    world: World, change: dict[str, Any], status: int, reason: str
) -> None:
    now = int(time.time())  # times are offsets from now: parameters are made at collection
    timed = {k: now + v if k in {"iat", "exp"} else v for k, v in change.items()}
    claims = {k: v for k, v in claims_for(world, **timed).items() if v is not None}
    with refused(world, status, reason) as got:
        got.append(request_token(world, sign(claims, world.tool.key)))


def test_an_unknown_kid_is_refused(world: World) -> None:
    with refused(world, 401, "assertion_kid") as got:
        got.append(request_token(world, sign(claims_for(world), world.tool.key, kid="other-kid")))


def test_alg_none_and_hs256_are_refused(world: World) -> None:
    with refused(world, 401, "assertion_algorithm") as got:
        got.append(request_token(world, unsigned(claims_for(world))))
    # HS256 keyed with the tool's public key: the classic algorithm confusion.
    secret = world.tool.key.as_pem(private=False)
    with refused(world, 401, "assertion_algorithm") as got:
        got.append(
            request_token(world, hs256(claims_for(world), secret, world.tool.key.thumbprint()))
        )


def test_an_assertion_signed_by_another_key_is_refused(world: World) -> None:
    forged = sign(claims_for(world), new_key(), kid=world.tool.key.thumbprint())
    with refused(world, 401, "assertion_signature") as got:
        got.append(request_token(world, forged))


def test_a_scope_the_tool_was_not_given_is_refused(world: World) -> None:
    key = new_key()
    scored = register_tool(
        world.client, world.tenant, public_jwk=public_jwk(key), scopes=[SCOPE_SCORE]
    )
    claims = claims_for(world, iss=scored["client_id"], sub=scored["client_id"])
    with refused(world, 400, "scope_not_allowed") as got:
        got.append(request_token(world, sign(claims, key), (SCOPE_SCORE, SCOPE_NRPS)))


# -- AGS and NRPS: the access token --------------------------------------------------------


def test_a_token_without_the_scope_is_refused_on_ags_and_nrps(world: World) -> None:
    token = access_token(world, (SCOPE_SCORE,))
    members = f"/t/{world.tenant}/api/lti/nrps/contexts/{world.context_id}/memberships"
    with refused(world, 403, "scope_insufficient") as got:
        got.append(world.client.get(members, headers=bearer(token)))
    items = f"/t/{world.tenant}/api/lti/ags/contexts/{world.context_id}/lineitems"
    with refused(world, 403, "scope_insufficient") as got:
        got.append(
            world.client.post(
                items,
                headers={**bearer(token), "Content-Type": LINEITEM_MEDIA},
                json={"label": "Sneaky", "scoreMaximum": 10},
            )
        )
    assert (
        world.client.get(members, headers=bearer(token))
        .headers["www-authenticate"]
        .startswith('Bearer realm="lti", error="insufficient_scope"')
    )


def test_another_tenants_token_is_refused(world: World, beta_token: str) -> None:
    members = f"/t/{world.tenant}/api/lti/nrps/contexts/{world.context_id}/memberships"
    with refused(world, 401, "token_tenant") as got:
        got.append(world.client.get(members, headers=bearer(beta_token)))


def test_a_missing_or_forged_token_is_refused(world: World) -> None:
    items = f"/t/{world.tenant}/api/lti/ags/contexts/{world.context_id}/lineitems"
    with refused(world, 401, "token_missing") as got:
        got.append(world.client.get(items))
    with refused(world, 401, "token_invalid") as got:
        got.append(world.client.get(items, headers=bearer(f"{world.tenant}.bm90LWEtdG9rZW4=")))


# -- the launch: the authorization request --------------------------------------------------


def _authorize_url(world: World, person: str = "s1") -> str:
    login = world.start(f"/t/{world.tenant}/lti/launch/{world.link_id}", person)
    return world.tool.login(login)


def test_a_replayed_authorization_request_is_refused(world: World) -> None:
    url = _authorize_url(world)
    first = world.authorize(url, "s1")
    assert first.status_code == 200
    assert form_fields(first.text)["id_token"]
    with refused(world, 400, "launch_replayed") as got:
        got.append(world.authorize(url, "s1"))


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("redirect_uri", "https://evil.example/launch", "redirect_uri_unregistered"),
        ("lti_message_hint", "bm90LW91cnM=", "hint_invalid"),
        ("response_type", "code", "request_invalid"),
        ("prompt", "login", "request_invalid"),
        ("client_id", "another-tool", "request_invalid"),
        ("login_hint", "acme.Learner.0000", "login_hint_mismatch"),
    ],
)
def test_a_tampered_authorization_request_is_refused(
    world: World, name: str, value: str, reason: str
) -> None:
    url = httpx.URL(_authorize_url(world))
    with refused(world, 400, reason) as got:
        got.append(world.authorize(str(url.copy_set_param(name, value)), "s1"))


def test_another_person_cannot_complete_a_launch(world: World) -> None:
    url = _authorize_url(world, "s1")
    with refused(world, 400, "login_hint_mismatch") as got:
        got.append(world.authorize(url, "s2"))


def test_a_launch_needs_a_session(world: World) -> None:
    with refused(world, 401, "session_required") as got:
        got.append(world.client.get(f"/t/{world.tenant}/lti/launch/{world.link_id}"))


def test_a_session_of_another_tenant_cannot_launch(world: World) -> None:
    cookie = world.cookie("s1", tenant="beta")
    with refused(world, 401, "session_required") as got:
        got.append(
            world.client.get(
                f"/t/{world.tenant}/lti/launch/{world.link_id}", headers={"Cookie": cookie}
            )
        )
