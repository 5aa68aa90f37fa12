"""API clients' commands (register, authenticate, revoke, list) and their access tokens.

A client id is `<tenant>.<random>`, so the token endpoint knows the tenant before it
reads anything. Access tokens are signed claims (`hub.http.oauth.TokenSigner`): checking
one costs no I/O. A revoked client's tokens stop working once the process has seen the
revocation: at once in the process that recorded it, within `Settings.api_client_cache_s`
in the others (what a process read of a client is trusted that long).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from hub.api.scopes import SCOPES
from hub.application import Hub
from hub.domain.api_clients import ApiClient, api_client_id
from hub.domain.base import check_tenant
from hub.http.oauth import TokenError, TokenSigner
from hub.lti.tool.known import Known
from hub.replay import ReplayFilter, replay
from infra.nats_client import NatsConnection
from infra.secrets import api_key_matches, hash_api_key


class ClientError(Exception):
    """Raised for client credentials that do not hold (OAuth2 `invalid_client`)."""


class UnknownClientError(Exception):
    """Raised when a tenant has no client with that id."""


@dataclass(frozen=True)
class NewClient:
    """A registered client with its secret, shown this once."""

    client_id: str
    client_secret: str
    name: str
    scopes: tuple[str, ...]
    position: int


@dataclass(frozen=True)
class Access:
    """What a verified access token grants."""

    tenant: str
    client_id: str
    scopes: frozenset[str]
    expires_at: int


def check_scopes(scopes: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown or not scopes:
        msg = f"unknown scope {unknown[0] if unknown else '(none)'}; known: {', '.join(SCOPES)}"
        raise ValueError(msg)
    return tuple(dict.fromkeys(scopes))


def register_client(hub: Hub, tenant: str, name: str, scopes: tuple[str, ...]) -> NewClient:
    """Record a new client of `tenant`; its secret is returned here and never again."""
    held = check_scopes(scopes)
    client_id = f"{check_tenant(tenant)}.{secrets.token_hex(8)}"
    secret = f"hubcs_{secrets.token_urlsafe(32)}"
    recordings = hub.save(ApiClient(tenant, client_id, name, held, hash_api_key(secret)))
    return NewClient(client_id, secret, name, held, recordings[-1].notification.id)


def read_client(hub: Hub, tenant: str, client_id: str) -> ApiClient:
    try:
        found: ApiClient = hub.repository.get(api_client_id(check_tenant(tenant), client_id))
    except (ValueError, AggregateNotFoundError):
        raise UnknownClientError(f"tenant {tenant!r} has no client {client_id!r}") from None
    return found


def revoke_client(hub: Hub, tenant: str, client_id: str, reason: str) -> int:
    """Record the revocation; returns its log position (ClientRevokedError if it was)."""
    client = read_client(hub, tenant, client_id)
    client.revoke(reason)
    return hub.save(client)[-1].notification.id


def list_clients(hub: Hub, connection: NatsConnection, prefix: str, tenant: str) -> list[ApiClient]:
    """The tenant's clients, oldest first (their registrations found in the log)."""
    found = ReplayFilter(
        tenant=tenant, aggregate_type="ApiClient", event_types=frozenset({"Registered"}), app="hub"
    )
    ids = [record["aggregate_id"] for record in replay(connection, prefix, found)]
    return [hub.repository.get(aggregate) for aggregate in dict.fromkeys(ids)]


def authenticate(hub: Hub, client_id: str, client_secret: str) -> ApiClient:
    """The client these credentials are of, if it exists, holds them and is not revoked."""
    tenant, _, _ = client_id.partition(".")
    try:
        client = read_client(hub, tenant, client_id)
    except UnknownClientError:
        raise ClientError("unknown client") from None
    if not api_key_matches(client_secret, client.secret_sha256):
        raise ClientError("wrong client secret")
    if client.revoked:
        raise ClientError("the client is revoked")
    return client


class ApiTokens:
    """Issues and checks the API's access tokens; remembers which clients are revoked."""

    def __init__(
        self,
        key: bytes,
        *,
        ttl_s: int,
        client_cache_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._signer = TokenSigner(key, b"hub-api-access-token")
        self.ttl_s = ttl_s
        self._revoked = Known(ttl_s=client_cache_s, clock=clock)  # client id -> revoked

    def issue(self, client: ApiClient, scopes: tuple[str, ...], now: int) -> str:
        claims: dict[str, Any] = {"t": client.tenant, "c": client.client_id, "s": list(scopes)}
        return self._signer.sign(claims | {"iat": now, "exp": now + self.ttl_s})

    def read(self, token: str, now: int) -> Access:
        """The grant of a token this hub signed that has not expired (no I/O)."""
        claims = self._signer.claims(token, now)
        try:
            return Access(
                str(claims["t"]), str(claims["c"]), frozenset(claims["s"]), int(claims["exp"])
            )
        except (KeyError, TypeError, ValueError):
            raise TokenError("the access token is malformed") from None

    def revoked(self, client_id: str) -> bool | None:
        """Whether the client is revoked, as last seen here; None when it must be read."""
        seen: bool | None = self._revoked.get(client_id)
        return seen

    def remember(self, client_id: str, *, revoked: bool) -> None:
        self._revoked.put(client_id, revoked)

    def load(self, hub: Hub, tenant: str, client_id: str) -> bool:
        """Read whether the client is revoked (blocking: call off the event loop)."""
        try:
            revoked = read_client(hub, tenant, client_id).revoked
        except UnknownClientError:
            revoked = True  # a token of a client that is not in the log grants nothing
        self.remember(client_id, revoked=revoked)
        return revoked
