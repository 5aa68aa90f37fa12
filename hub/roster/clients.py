"""OAuth2 client credentials for the OneRoster REST publisher: clients, access tokens, scopes.

A client belongs to one tenant: its id is `<tenant>.<random>`, so the token endpoint
knows the tenant before it checks the secret (stored as a SHA-256, compared in
constant time). An access token is stateless: the tenant, client, scopes and expiry,
signed with HMAC-SHA256 under a key derived from the hub's secret key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError

from hub.application import Hub
from hub.domain.base import check_tenant
from hub.domain.roster import RosterClient, roster_client_id
from infra.secrets import api_key_matches, hash_api_key

SCOPE_BASE = "https://purl.imsglobal.org/spec/or/v1p2/scope/"
CORE = SCOPE_BASE + "roster-core.readonly"
FULL = SCOPE_BASE + "roster.readonly"
DEMOGRAPHICS = SCOPE_BASE + "roster-demographics.readonly"
SCOPES = (CORE, FULL, DEMOGRAPHICS)
TOKEN_TTL_S = 3600


class ClientError(Exception):
    """Raised for client credentials that do not hold (OAuth2 `invalid_client`)."""


class TokenError(Exception):
    """Raised for an access token that is missing, forged, expired or lacks the scope."""


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


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues and reads the publisher's access tokens."""

    def __init__(self, key: bytes) -> None:
        self._key = hmac.new(key, b"oneroster-access-token", hashlib.sha256).digest()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def issue(self, client: RosterClient, scopes: tuple[str, ...], now: int) -> str:
        claims = {
            "t": client.tenant,
            "c": client.client_id,
            "s": list(scopes),
            "exp": now + TOKEN_TTL_S,
        }
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}"

    def read(self, token: str, now: int) -> Access:
        body, _, mac = token.partition(".")
        if not mac or not hmac.compare_digest(mac, self._mac(body)):
            raise TokenError("the access token is not one this hub issued")
        claims = json.loads(_unb64(body))
        if int(claims["exp"]) <= now:
            raise TokenError("the access token has expired")
        return Access(claims["t"], claims["c"], frozenset(claims["s"]), int(claims["exp"]))


def granted(client: RosterClient, requested: str | None) -> tuple[str, ...]:
    """The scopes a token gets: those requested (space-separated) that the client holds,
    or all the client's; raises ClientError for a scope it does not hold."""
    if not requested:
        return tuple(client.scopes)
    wanted = tuple(requested.split())
    extra = [scope for scope in wanted if scope not in client.scopes]
    if extra:
        raise ClientError(f"the client does not hold the scope {extra[0]}")
    return wanted
