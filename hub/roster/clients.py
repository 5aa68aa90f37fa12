"""OAuth2 client credentials for the OneRoster REST publisher: clients, access tokens, scopes.

A client belongs to one tenant: its id is `<tenant>.<random>`, so the token endpoint
knows the tenant before it checks the secret (stored as a SHA-256, compared in
constant time). An access token is stateless: the tenant, client, scopes and expiry,
signed with HMAC-SHA256 under a key derived from the hub's secret key.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError

from hub.application import Hub
from hub.domain.base import check_tenant
from hub.domain.roster import RosterClient, roster_client_id
from hub.http.oauth import InvalidScopeError, requested_scopes
from hub.http.oauth import TokenSigner as OAuthSigner
from infra.secrets import api_key_matches, hash_api_key

SCOPE_BASE = "https://purl.imsglobal.org/spec/or/v1p2/scope/"
CORE = SCOPE_BASE + "roster-core.readonly"
FULL = SCOPE_BASE + "roster.readonly"
DEMOGRAPHICS = SCOPE_BASE + "roster-demographics.readonly"
SCOPES = (CORE, FULL, DEMOGRAPHICS)
TOKEN_TTL_S = 3600


class ClientError(Exception):
    """Raised for client credentials that do not hold (OAuth2 `invalid_client`)."""


@dataclass(frozen=True)
class NewClient:
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Access:
    """What a verified access token grants."""

    tenant: str
    client_id: str
    scopes: frozenset[str]
    expires_at: int

    def allows(self, scope: str) -> bool:
        """roster.readonly grants roster-core.readonly as well."""
        return scope in self.scopes or (scope == CORE and FULL in self.scopes)


def register_client(
    hub: Hub, tenant: str, name: str, scopes: tuple[str, ...] = (FULL,)
) -> NewClient:
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown or not scopes:
        msg = f"unknown scope {unknown[0] if unknown else '(none)'}; known: {', '.join(SCOPES)}"
        raise ValueError(msg)
    client_id = f"{tenant}.{secrets.token_hex(8)}"
    secret = f"orcs_{secrets.token_urlsafe(32)}"
    hub.save(RosterClient(tenant, client_id, hash_api_key(secret), scopes, name))
    return NewClient(client_id, secret, scopes)


def authenticate(hub: Hub, client_id: str, client_secret: str) -> RosterClient:
    tenant, _, _ = client_id.partition(".")
    try:
        check_tenant(tenant)
        client: RosterClient = hub.repository.get(roster_client_id(tenant, client_id))
    except (ValueError, AggregateNotFoundError):
        raise ClientError("unknown client") from None
    if not api_key_matches(client_secret, client.secret_sha256):
        raise ClientError("wrong client secret")
    return client


class TokenSigner:
    """Issues and reads the publisher's access tokens (`hub.http.oauth`'s signed claims)."""

    def __init__(self, key: bytes) -> None:
        self._signer = OAuthSigner(key, b"oneroster-access-token")

    def issue(self, client: RosterClient, scopes: tuple[str, ...], now: int) -> str:
        claims = {"t": client.tenant, "c": client.client_id, "s": list(scopes)}
        return self._signer.sign(claims | {"exp": now + TOKEN_TTL_S})

    def read(self, token: str, now: int) -> Access:
        claims = self._signer.claims(token, now)
        return Access(claims["t"], claims["c"], frozenset(claims["s"]), int(claims["exp"]))


def granted(client: RosterClient, requested: str | None) -> tuple[str, ...]:
    """The scopes a token gets: those requested (space-separated) that the client holds,
    or all the client's; raises ClientError for a scope it does not hold."""
    try:
        return requested_scopes(tuple(client.scopes), requested)
    except InvalidScopeError as error:
        raise ClientError(str(error)) from None
