"""The tools' public keys (their JWKS URL, cached, or a key registered with them), and the
verification of the JWTs tools sign: client assertions and Deep Linking responses.

Checks, in order: RS256 only (no `none`, no HS*), a `kid` found among the tool's keys
(the JWKS refetched once on an unknown `kid`; with no `kid`, only a lone key is tried:
fail closed on ambiguity), the signature, then `iss`, `aud`, `exp`/`iat` within 60 s.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from hub.lti.platform.errors import LtiRejectedError
from infra.http import guarded_client

MAX_SKEW_S = 60
MAX_LIFETIME_S = 3600
JWKS_TTL_S = 300.0
JWKS_MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class VerifiedJwt:
    header: dict[str, Any]
    claims: dict[str, Any]
    kid: str | None


def peek_header(token: str) -> dict[str, Any]:
    try:
        head = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, IndexError) as error:
        raise LtiRejectedError("assertion_malformed", "the JWT's header cannot be read") from error
    if not isinstance(header, dict) or token.count(".") != 2:
        raise LtiRejectedError("assertion_malformed", "a JWT has three dot-separated parts")
    return header


def unverified_issuer(token: str) -> str:
    """The `iss` a JWT claims (the tool's client_id), read to find whose keys verify it."""
    peek_header(token)
    try:
        body = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, IndexError) as error:
        raise LtiRejectedError("assertion_malformed", "the JWT's claims cannot be read") from error
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    if not isinstance(issuer, str) or not issuer:
        raise LtiRejectedError("assertion_claims", "iss (the tool's client_id) is required")
    return issuer[:100]


class ToolKeyCache:
    """Public keys per (tenant, client_id); JWKS URLs are fetched through the SSRF guard."""

    def __init__(self, *, allowed_hosts: Iterable[str] = (), ttl_s: float = JWKS_TTL_S) -> None:
        self.allowed_hosts = set(allowed_hosts)
        self._ttl = ttl_s
        self._cache: dict[tuple[str, str], tuple[float, KeySet]] = {}
        self._lock = threading.Lock()

    def keys(self, tenant: str, settings: dict[str, Any], *, refresh: bool = False) -> KeySet:
        if settings.get("public_jwk"):
            return KeySet([RSAKey.import_key(settings["public_jwk"])])
        key = (tenant, str(settings["jwks_url"]))
        cached = self._cache.get(key)
        if cached is not None and not refresh and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        fetched = self._fetch(str(settings["jwks_url"]))
        with self._lock:
            self._cache[key] = (time.monotonic(), fetched)
        return fetched

    def forget(self, tenant: str, settings: dict[str, Any]) -> None:
        """Drop the tool's cached JWKS: the next check fetches it again."""
        with self._lock:
            self._cache.pop((tenant, str(settings.get("jwks_url"))), None)

    def _fetch(self, url: str) -> KeySet:
        try:
            with guarded_client(allowed_hosts=self.allowed_hosts) as client:
                response = client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            if len(response.content) > JWKS_MAX_BYTES:
                msg = "the JWKS is too large"
                raise ValueError(msg)
            body = response.json()
            return KeySet.import_key_set(
                {"keys": [k for k in body["keys"] if k.get("kty") == "RSA"]}
            )
        except (httpx.HTTPError, ValueError, KeyError, TypeError, JoseError) as error:
            raise LtiRejectedError(
                "tool_keys_unavailable", f"the tool's JWKS at {url} cannot be used: {error}"
            ) from error

    def verify(
        self,
        tenant: str,
        settings: dict[str, Any],
        token: str,
        *,
        issuer: str,
        audience: str,
        now: int,
    ) -> VerifiedJwt:
        header = peek_header(token)
        if header.get("alg") != "RS256":
            raise LtiRejectedError(
                "assertion_algorithm", f"only RS256 is accepted, not {header.get('alg')!r}"
            )
        kid = header.get("kid")
        key = self._key_for(tenant, settings, kid)
        try:
            decoded = jwt.decode(token, key, algorithms=["RS256"])
        except JoseError as error:
            raise LtiRejectedError(
                "assertion_signature", "the JWT is not signed by this tool's key"
            ) from error
        claims = dict(decoded.claims)
        check_claims(claims, issuer=issuer, audience=audience, now=now)
        return VerifiedJwt(dict(decoded.header), claims, kid if isinstance(kid, str) else None)

    def _key_for(self, tenant: str, settings: dict[str, Any], kid: object) -> RSAKey:
        if kid is not None and not isinstance(kid, str):
            raise LtiRejectedError("assertion_kid", "the JWT's kid is not a string")
        for refresh in (False, True):
            keys = self.keys(tenant, settings, refresh=refresh).keys
            if kid is None:
                if len(keys) == 1 and isinstance(keys[0], RSAKey):
                    return keys[0]
                raise LtiRejectedError(
                    "assertion_kid", "the JWT has no kid and the tool has several keys"
                )
            found = [k for k in keys if k.kid == kid]
            if len(found) == 1 and isinstance(found[0], RSAKey):
                return found[0]
            if settings.get("public_jwk"):
                break  # a registered key cannot be refetched
        raise LtiRejectedError(
            "assertion_kid", f"kid {str(kid)[:80]!r} is not among the tool's keys"
        )


def check_claims(claims: dict[str, Any], *, issuer: str, audience: str, now: int) -> None:
    """`iss`, `aud` (a string, or a list holding it), `exp` and `iat` within 60 s."""
    if claims.get("iss") != issuer:
        raise LtiRejectedError("assertion_claims", f"iss must be the tool's client_id {issuer!r}")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in audiences:
        raise LtiRejectedError("assertion_audience", f"aud must be {audience!r}")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int):
        raise LtiRejectedError("assertion_claims", "exp and iat must be integers")
    if exp < now - MAX_SKEW_S:
        raise LtiRejectedError("assertion_expired", f"the JWT expired at {exp}")
    if iat > now + MAX_SKEW_S:
        raise LtiRejectedError("assertion_not_yet_valid", "iat is more than 60 s ahead")
    if exp - iat > MAX_LIFETIME_S:
        raise LtiRejectedError("assertion_claims", "the JWT lives longer than an hour")
