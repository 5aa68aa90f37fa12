"""A tenant's API clients (OAuth2 client credentials) and its API rate limits."""

from __future__ import annotations

from collections.abc import Sequence

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id


class ClientRevokedError(Exception):
    """Raised when a revoked client is revoked again."""


def api_client_id(tenant: str, client_id: str) -> str:
    return aggregate_id(tenant, "ApiClient", client_id)


class ApiClient(HubAggregate):
    """A program that calls the tenant's API with a client id, a secret and scopes.

    Only the SHA-256 of the secret is recorded (the secret is 256 random bits): the
    secret itself is shown once, when the client is registered.
    """

    @staticmethod
    def create_id(tenant: str, client_id: str, **_: object) -> str:
        return api_client_id(tenant, client_id)

    @event("Registered")
    def __init__(
        self, tenant: str, client_id: str, name: str, scopes: Sequence[str], secret_sha256: str
    ) -> None:
        self.client_id = client_id
        self.name = name
        self.scopes = list(scopes)
        self.secret_sha256 = secret_sha256
        self.revoked = False

    def check_not_revoked(self) -> None:
        if self.revoked:
            msg = f"client {self.client_id} is already revoked"
            raise ClientRevokedError(msg)

    def revoke(self, reason: str) -> None:
        self.check_not_revoked()
        self._revoked(reason=reason)

    @event("Revoked")
    def _revoked(self, reason: str) -> None:
        self.revoked = True


def api_rate_limits_id(tenant: str) -> str:
    return aggregate_id(tenant, "ApiRateLimits", "api")


class ApiRateLimits(HubAggregate):
    """Requests per minute the tenant's public endpoints take: the tenant's in all, and each
    of its API clients'."""

    @staticmethod
    def create_id(tenant: str, **_: object) -> str:
        return api_rate_limits_id(tenant)

    @event("Set")
    def __init__(self, tenant: str, tenant_per_minute: int, client_per_minute: int) -> None:
        self.tenant_per_minute = tenant_per_minute
        self.client_per_minute = client_per_minute

    @event("Changed")
    def change(self, tenant_per_minute: int, client_per_minute: int) -> None:
        self.tenant_per_minute = tenant_per_minute
        self.client_per_minute = client_per_minute
