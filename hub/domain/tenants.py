"""The tenant: every event, subject, row, key and secret belongs to one."""

from __future__ import annotations

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id, check_tenant


class Tenant(HubAggregate):
    """A school, district or partner organisation using the hub."""

    @staticmethod
    def create_id(slug: str, *_: object, **__: object) -> str:
        return tenant_id(slug)

    @event("Registered")
    def __init__(self, slug: str, name: str, api_key_hash: str, webhook_secret_sealed: str) -> None:
        check_tenant(slug)
        self.slug = slug
        self.name = name
        self.api_key_hashes = [api_key_hash]
        self.webhook_secret_sealed = webhook_secret_sealed

    @event("Renamed")
    def rename(self, name: str) -> None:
        self.name = name

    @event("ApiKeyRotated")
    def rotate_api_key(self, api_key_hash: str) -> None:
        """The old key stops working at once: the tenant's key is the hub's, not a partner's."""
        self.api_key_hashes = [api_key_hash]

    @event("WebhookSecretRotated")
    def rotate_webhook_secret(self, webhook_secret_sealed: str) -> None:
        self.webhook_secret_sealed = webhook_secret_sealed


def tenant_id(slug: str) -> str:
    return aggregate_id(slug, "Tenant", slug)
