"""Checks of a platform's id_token, one function per step of seed 003 §5.2.2. Pure functions.

Each raises `LaunchRejectedError` with a stable reason (the audit stream's code and
the problem's type). The launch route calls them in the seed's order:

    1. header: alg RS256 only, kid present          `peek`, `check_header`
    2. iss, aud/azp, deployment registered           `check_audience`, `check_deployment`
    3. kid in the platform's JWKS, signature, times  `verify_signature`, `check_times`
    4-5. state known, unused, fresh; nonce matches   `check_login`
    6. the required LTI claims                       `parse_claims`
    7. consumed once (the launch's commit conflicts on replay)
"""

from __future__ import annotations

import base64
import json
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from pydantic import ValidationError

from hub.domain.lti_tool import STATE_TTL_S, LtiLaunch, PlatformRegistration
from schemas.lti_tool import LaunchClaims

MAX_SKEW_S = 60
ALGORITHM = "RS256"


class LaunchRejectedError(Exception):
    """A launch (or login) failed a check; `reason` is its stable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _segment(text: str) -> dict[str, Any]:
    value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    if not isinstance(value, dict):
        raise TypeError("not a JSON object")
    return value


def peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a compact JWS, unverified (to find who must have signed it)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise LaunchRejectedError("token_malformed", "id_token is not a compact JWT")
    try:
        return _segment(parts[0]), _segment(parts[1])
    except (ValueError, TypeError) as error:
        raise LaunchRejectedError("token_malformed", "id_token is not a compact JWT") from error


def check_header(header: dict[str, Any]) -> str:
    """Step 1: RS256 only (never none, never HS*), and a `kid`. Returns the kid."""
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise LaunchRejectedError(
            "token_algorithm", f"only RS256 id_tokens are accepted, not {alg!r}"
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise LaunchRejectedError("kid_missing", "the id_token's header has no kid")
    return kid


def check_audience(claims: dict[str, Any], registration: PlatformRegistration) -> None:
    """Step 2: our client_id is in `aud`; with several audiences, `azp` must name us."""
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if registration.client_id not in audiences:
        raise LaunchRejectedError(
            "audience_mismatch", "the id_token's aud does not name the hub's client_id"
        )
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != registration.client_id:
        raise LaunchRejectedError("azp_mismatch", "the id_token's azp must be the hub's client_id")


def check_deployment(claims: dict[str, Any], registration: PlatformRegistration) -> str:
    deployment = claims.get("https://purl.imsglobal.org/spec/lti/claim/deployment_id")
    if not isinstance(deployment, str) or deployment not in registration.deployment_ids:
        raise LaunchRejectedError(
            "deployment_unknown", "the deployment_id is not registered for this platform"
        )
    return deployment


def verify_signature(token: str, key: RSAKey) -> None:
    """Step 3: the signature, with the key the JWKS holds for the header's kid."""
    try:
        jws.deserialize_compact(token, key, algorithms=[ALGORITHM])
    except (JoseError, ValueError) as error:
        raise LaunchRejectedError(
            "signature_invalid", "the id_token's signature does not verify with the platform's key"
        ) from error


def check_times(claims: dict[str, Any], now: int) -> None:
    """Step 3: `exp` and `iat` numbers, within 60 s of our clock."""
    exp, iat = claims.get("exp"), claims.get("iat")
    numbers = [v for v in (exp, iat) if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != 2:
        raise LaunchRejectedError("claims_invalid", "exp and iat must be numbers (NumericDate)")
    exp, iat = numbers
    if exp < now - MAX_SKEW_S:
        raise LaunchRejectedError("token_expired", "the id_token has expired")
    if iat > now + MAX_SKEW_S:
        raise LaunchRejectedError("token_not_yet_valid", "the id_token was issued in the future")


def check_login(
    launch: LtiLaunch | None, registration: PlatformRegistration, claims: dict[str, Any], now: int
) -> None:
    """Steps 4 and 5: the state we issued, unused, at most 10 minutes old, and its nonce."""
    if launch is None:
        raise LaunchRejectedError("state_unknown", "the state was not issued by the hub's login")
    if launch.accepted:
        raise LaunchRejectedError("state_replayed", "this login's state was already used")
    if launch.issued_at < now - STATE_TTL_S:
        raise LaunchRejectedError("state_expired", "the login is more than 10 minutes old")
    if launch.registration_id != registration.id:
        raise LaunchRejectedError("state_mismatch", "the state was issued for another platform")
    if claims.get("nonce") != launch.nonce:
        raise LaunchRejectedError("nonce_mismatch", "the id_token's nonce is not the login's")


def parse_claims(claims: dict[str, Any]) -> LaunchClaims:
    """Step 6: the required LTI claims, and the optional ones well formed."""
    try:
        parsed = LaunchClaims.model_validate(claims)
    except ValidationError as error:
        fields = ", ".join(
            str(item["loc"][0]).rsplit("/", 1)[-1] for item in error.errors() if item["loc"]
        )
        missing = any(item["type"] == "missing" for item in error.errors())
        raise LaunchRejectedError(
            "claims_missing" if missing else "claims_invalid",
            f"missing or invalid LTI claims: {fields}",
        ) from error
    if parsed.message_type == "LtiResourceLinkRequest" and parsed.resource_link is None:
        raise LaunchRejectedError("claims_missing", "a resource link launch needs resource_link")
    if parsed.message_type == "LtiDeepLinkingRequest" and parsed.deep_linking is None:
        raise LaunchRejectedError(
            "claims_missing", "a deep linking request needs deep_linking_settings"
        )
    return parsed
