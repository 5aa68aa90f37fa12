"""Verification of Spark's signals: the HS256 SSO token and the webhook HMAC. Pure functions."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from pydantic import ValidationError

from schemas.spark import SsoClaims

MAX_LIFETIME_S = 600
MAX_SKEW_S = 60


class SignalRejectedError(Exception):
    """A signal failed verification; `reason` is a stable code recorded in the audit stream."""

    def __init__(self, reason: str, detail: str, status: int = 401) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.status = status


def verify_webhook_signature(body: bytes, signature: str | None, secrets: Sequence[str]) -> int:
    """Check `X-Spark-Signature` (hex HMAC-SHA256 of the raw body) against each live secret.

    Returns the index of the secret that matched (several verify during a rotation).
    """
    if not signature:
        raise SignalRejectedError("signature_missing", "X-Spark-Signature header is missing")
    given = signature.strip().lower().removeprefix("sha256=")
    matched = -1
    for index, secret in enumerate(secrets):
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret, so timing says nothing about which one matched.
        if hmac.compare_digest(given, expected) and matched < 0:
            matched = index
    if matched < 0:
        raise SignalRejectedError("signature_mismatch", "X-Spark-Signature does not match the body")
    return matched


RETIRED_NOTE = (
    "; it was signed with a secret retired when its rotation's overlap window ended: "
    "use the new secret"
)


def signed_with_retired(error: SignalRejectedError, check_retired: Callable[[], object]) -> bool:
    """Whether a signature refusal was signed with a retired secret (`check_retired` passes)."""
    if error.reason not in {"signature_mismatch", "token_signature"}:
        return False
    try:
        check_retired()
    except SignalRejectedError:
        return False
    return True


def token_key(token: str, claims: SsoClaims) -> str:
    """What makes a token single-use: its nonce, else the hash of the whole token."""
    return claims.nonce or hashlib.sha256(token.encode()).hexdigest()


def verify_sso_token(
    token: str, secrets: Sequence[str], *, now: int, issuer: str | None = None
) -> SsoClaims:
    """Verify an SSO token: HS256 only, signature, lifetime at most 10 minutes, skew 60 s."""
    header_alg = _peek_alg(token)
    if header_alg != "HS256":
        raise SignalRejectedError(
            "token_algorithm", f"only HS256 tokens are accepted, not {header_alg!r}"
        )
    decoded = None
    for secret in secrets:
        try:
            decoded = jwt.decode(token, OctKey.import_key(secret.encode()), algorithms=["HS256"])
            break
        except JoseError:
            continue
    if decoded is None:
        raise SignalRejectedError("token_signature", "the token's signature is not valid")
    try:
        claims = SsoClaims.model_validate(decoded.claims)
    except ValidationError as error:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in error.errors())
        raise SignalRejectedError("token_claims", f"missing or invalid claims: {fields}") from error
    _check_times(claims, now)
    if issuer is not None and claims.iss is not None and claims.iss != issuer:
        raise SignalRejectedError("token_issuer", f"issuer {claims.iss!r} is not {issuer!r}")
    return claims


def _check_times(claims: SsoClaims, now: int) -> None:
    if claims.exp <= now - MAX_SKEW_S:
        raise SignalRejectedError("token_expired", "the token has expired")
    if claims.iat > now + MAX_SKEW_S:
        raise SignalRejectedError("token_not_yet_valid", "the token was issued in the future")
    if claims.exp - claims.iat > MAX_LIFETIME_S:
        raise SignalRejectedError(
            "token_lifetime", "the token lives longer than 10 minutes (exp - iat > 600 s)"
        )


def _peek_alg(token: str) -> str:
    import base64  # noqa: PLC0415
    import json  # noqa: PLC0415

    try:
        head = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
        return str(header.get("alg"))
    except (ValueError, AttributeError, IndexError) as error:
        raise SignalRejectedError("token_malformed", "the token is not a JWT") from error
