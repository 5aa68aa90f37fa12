"""Client assertions as tools sign them (and as attackers might), and tokens from the hub."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from schemas.lti import ALL_SCOPES
from tests.lti.platform.world import World

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def token_url(world: World, tenant: str | None = None) -> str:
    return f"{world.client.base_url}/t/{tenant or world.tenant}/api/lti/platform/token"


def claims_for(world: World, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": world.client_id,
        "sub": world.client_id,
        "aud": token_url(world),
        "iat": now - 5,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    return {**claims, **overrides}


def sign(claims: dict[str, Any], key: RSAKey, **header: Any) -> str:
    head = {"alg": "RS256", "kid": key.thumbprint(), **header}
    return jwt.encode(head, claims, key, algorithms=["RS256"])


def _part(value: dict[str, Any] | bytes) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    return f"{_part({'alg': 'none', 'typ': 'JWT'})}.{_part(claims)}."


def hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """Signed by hand: JOSE libraries refuse to HMAC with a public key, attackers do not."""
    signing_input = f"{_part({'alg': 'HS256', 'kid': kid})}.{_part(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_part(mac)}"


def request_token(
    world: World, assertion: str, scopes: tuple[str, ...] = ALL_SCOPES, tenant: str | None = None
) -> Any:
    return world.client.post(
        f"/t/{tenant or world.tenant}/api/lti/platform/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            "scope": " ".join(scopes),
        },
    )


def access_token(world: World, scopes: tuple[str, ...] = ALL_SCOPES) -> str:
    response = request_token(world, sign(claims_for(world), world.tool.key), scopes)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
