"""OAuth2 client credentials for tools: a JWT client assertion in, an access token out;
and the bearer check that AGS and NRPS make with the scopes each operation needs.

The access token is `<tenant>.<sealed>`: the grant (client, scopes, expiry) sealed with
the hub's key under the tenant's context, so checking it costs no read, and a token of
another tenant is told apart from a forged one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from cryptography.exceptions import InvalidTag
from eventsourcing.persistence import IntegrityError

from hub.application import Hub
from hub.audit import sha256_hex
from hub.domain.lti_platform import LtiAccessGrant
from hub.lti.platform.errors import LtiRejectedError
from hub.lti.platform.registrations import registration
from hub.lti.platform.tool_keys import ToolKeyCache, unverified_issuer
from hub.lti.platform.urls import PlatformUrls
from infra.secrets import SecretBox

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_LIFETIME_S = 3600


@dataclass(frozen=True)
class AccessGrant:
    """What an access token stands for."""

    client_id: str
    scopes: list[str]
    expires_at: int


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    scopes: list[str]
    expires_in: int
    position: int


def _context(tenant: str) -> str:
    return f"{tenant}:lti-access-token"


def seal_token(box: SecretBox, tenant: str, grant: AccessGrant) -> str:
    sealed = box.encrypt(json.dumps(asdict(grant), separators=(",", ":")), context=_context(tenant))
    return f"{tenant}.{sealed}"


def open_token(box: SecretBox, tenant: str, token: str, *, now: int) -> AccessGrant:
    owner, _, sealed = token.partition(".")
    if not sealed:
        raise LtiRejectedError("token_invalid", "this is not an access token of the hub")
    if owner != tenant:
        raise LtiRejectedError("token_tenant", "ask this tenant's token endpoint for a token")
    try:
        grant = AccessGrant(**json.loads(box.decrypt(sealed, context=_context(tenant))))
    except (InvalidTag, ValueError, TypeError) as error:
        raise LtiRejectedError("token_invalid", "this is not an access token of the hub") from error
    if grant.expires_at <= now:
        raise LtiRejectedError("token_expired", "ask the token endpoint for a new access token")
    return grant


def check_scope(grant: AccessGrant, *accepted: str) -> None:
    """At least one of `accepted` (a write scope also allows its read)."""
    if not set(accepted) & set(grant.scopes):
        raise LtiRejectedError(
            "scope_insufficient", f"this needs one of the scopes: {', '.join(accepted)}"
        )


def issue_token(
    hub: Hub,
    box: SecretBox,
    tool_keys: ToolKeyCache,
    urls: PlatformUrls,
    form: Mapping[str, str],
    *,
    now: int,
) -> IssuedToken:
    tenant = urls.tenant
    if form.get("grant_type") != "client_credentials":
        raise LtiRejectedError(
            "grant_type_unsupported",
            f"grant_type must be client_credentials, not {form.get('grant_type', '')[:40]!r}",
        )
    assertion = form.get("client_assertion", "")
    if form.get("client_assertion_type") != ASSERTION_TYPE or not assertion:
        raise LtiRejectedError(
            "assertion_missing",
            f"send client_assertion with client_assertion_type {ASSERTION_TYPE}",
        )
    client_id = unverified_issuer(assertion)
    tool = registration(hub, tenant, client_id)
    verified = tool_keys.verify(
        tenant, tool.settings, assertion, issuer=client_id, audience=urls.token, now=now
    )
    claims = verified.claims
    if claims.get("sub") != client_id:
        raise LtiRejectedError("assertion_claims", "sub must be the tool's client_id")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 200:
        raise LtiRejectedError("assertion_claims", "jti is required (a unique string)")
    scopes = _granted(tool.scopes, form.get("scope", ""))
    expires_at = now + TOKEN_LIFETIME_S
    grant = LtiAccessGrant(
        tenant, client_id, jti, scopes, expires_at, sha256_hex(assertion), verified.kid
    )
    try:
        recordings = hub.save(grant)
    except IntegrityError as error:
        raise LtiRejectedError(
            "assertion_replayed", "sign a new assertion with a new jti for every token"
        ) from error
    token = seal_token(box, tenant, AccessGrant(client_id, scopes, expires_at))
    return IssuedToken(token, scopes, TOKEN_LIFETIME_S, recordings[-1].notification.id)


def _granted(allowed: list[str], requested: str) -> list[str]:
    wanted = requested.split()
    if not wanted:
        raise LtiRejectedError("scope_not_allowed", "name the scopes you need in scope=")
    refused = [scope for scope in wanted if scope not in allowed]
    if refused:
        raise LtiRejectedError(
            "scope_not_allowed", f"not allowed for this tool: {' '.join(refused)[:500]}"
        )
    return sorted(set(wanted))
