"""Per-tenant LTI signing keys: made on first use, rotated, retired, published as a JWKS."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import KeySet

from hub.bootstrap import Runtime
from hub.domain.lti_keys import KeyStateError
from hub.lti.keys import LtiKeys


def test_a_tenant_signs_with_one_active_key_that_its_jwks_publishes(
    client: httpx.Client, app: FastAPI
) -> None:
    keys: LtiKeys = app.state.lti_keys
    signing = keys.signing_key("acme")
    token = jwt.encode(signing.header, {"sub": "x"}, signing.key)
    response = client.get("/t/acme/api/lti/jwks.json")
    assert response.status_code == 200
    published = response.json()
    assert [k["kid"] for k in published["keys"]] == [signing.kid]
    assert published["keys"][0]["alg"] == "RS256"
    assert published["keys"][0]["use"] == "sig"
    assert "d" not in published["keys"][0]  # never the private part
    decoded = jwt.decode(token, KeySet.import_key_set(published), algorithms=["RS256"])
    assert decoded.claims["sub"] == "x"
    assert client.get("/api/lti/jwks.json", params={"tenant": "acme"}).json() == published


def test_tenants_have_different_keys(app: FastAPI) -> None:
    keys: LtiKeys = app.state.lti_keys
    assert keys.signing_key("acme").kid != keys.signing_key("beta").kid


def test_rotation_publishes_the_new_key_and_keeps_the_old_until_retired(
    runtime: Runtime,
) -> None:
    keys = LtiKeys(runtime.hub, runtime.box, cache_ttl_s=0)
    old = keys.signing_key("beta").kid
    new = keys.rotate("beta")
    assert keys.signing_key("beta").kid == new
    assert [k["kid"] for k in keys.public_jwks("beta")["keys"]] == [new, old]
    with pytest.raises(KeyStateError):
        keys.retire("beta", new)  # the active key cannot be retired
    keys.retire("beta", old)
    assert [k["kid"] for k in keys.public_jwks("beta")["keys"]] == [new]
    assert keys.ring("beta").keys[old]["status"] == "retired"
    with pytest.raises(KeyStateError):
        keys.retire("beta", old)


def test_an_unknown_tenant_has_no_keys(client: httpx.Client) -> None:
    response = client.get("/t/nobody/api/lti/jwks.json")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    missing = client.get("/api/lti/jwks.json")
    assert missing.status_code == 400
