"""The hub application: command handlers that decide and record events."""

from __future__ import annotations

from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError, Application

from hub.domain.tenants import Tenant, tenant_id
from infra.secrets import SecretBox, hash_api_key, new_secret


class TenantExistsError(Exception):
    """Raised when a tenant with that slug is already registered."""


@dataclass(frozen=True)
class NewTenant:
    """What `register_tenant` returns: the secrets, shown once, and the log position."""

    slug: str
    api_key: str
    webhook_secret: str
    position: int


class Hub(Application[str]):
    """Records the hub's own events (tenants, and the signals later issues add)."""

    name = "hub"

    def register_tenant(self, slug: str, name: str, box: SecretBox) -> NewTenant:
        if self.tenant(slug) is not None:
            msg = f"tenant {slug!r} already exists"
            raise TenantExistsError(msg)
        api_key = new_secret("hubk")
        webhook_secret = new_secret("whsec")
        tenant = Tenant(
            slug,
            name,
            hash_api_key(api_key),
            box.encrypt(webhook_secret, context=f"{slug}:webhook"),
        )
        recordings = self.save(tenant)
        return NewTenant(slug, api_key, webhook_secret, recordings[-1].notification.id)

    def tenant(self, slug: str) -> Tenant | None:
        try:
            found: Tenant = self.repository.get(tenant_id(slug))
        except AggregateNotFoundError:
            return None
        return found
