"""A tenant's webhook subscriptions: where its events go, which ones, and how they are signed.

One `WebhookRegistry` per tenant (deterministic id) holds every subscription of the
tenant, so reading them all is one aggregate and a change is seen in log order by the
`webhooks` connector. Signing secrets are stored sealed (`SecretBox`); the events carry
only the sealed text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id

WILDCARD = "*"
"""An event type list of `["*"]` subscribes to every public event type."""


def webhook_registry_id(tenant: str) -> str:
    return aggregate_id(tenant, "WebhookRegistry", "webhooks")


class UnknownSubscriptionError(LookupError):
    """Raised for a subscription id the tenant's registry does not hold."""


@dataclass(frozen=True)
class Subscription:
    """One subscription as stored: the signing secrets sealed, never in plain text."""

    id: str
    url: str
    event_types: tuple[str, ...]
    description: str
    paused: bool
    secret_sealed: str
    previous_secret_sealed: str | None
    previous_valid_until: str | None
    subscribed_at: str

    def wants(self, event_type: str) -> bool:
        """Whether an event of `event_type` is for this subscription now."""
        if self.paused:
            return False
        return WILDCARD in self.event_types or event_type in self.event_types


class WebhookRegistry(HubAggregate):
    """The tenant's subscriptions by id, and the hosts its URLs may resolve privately to."""

    @staticmethod
    def create_id(tenant: str, **_: object) -> str:
        return webhook_registry_id(tenant)

    @event("Opened")
    def __init__(self, tenant: str) -> None:
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.allowed_hosts: list[str] = []

    def check_subscribed(self, subscription_id: str) -> None:
        if subscription_id not in self.subscriptions:
            msg = f"no webhook subscription {subscription_id!r}"
            raise UnknownSubscriptionError(msg)

    def subscription(self, subscription_id: str) -> Subscription:
        self.check_subscribed(subscription_id)
        stored = self.subscriptions[subscription_id]
        return Subscription(**{**stored, "event_types": tuple(stored["event_types"])})

    def listed(self) -> list[Subscription]:
        """Every subscription, oldest first."""
        found = [self.subscription(key) for key in self.subscriptions]
        return sorted(found, key=lambda s: (s.subscribed_at, s.id))

    @event("Subscribed")
    def subscribe(
        self,
        subscription_id: str,
        url: str,
        event_types: list[str],
        description: str,
        secret_sealed: str,
        subscribed_at: str,
    ) -> None:
        self.subscriptions[subscription_id] = {
            "id": subscription_id,
            "url": url,
            "event_types": list(event_types),
            "description": description,
            "paused": False,
            "secret_sealed": secret_sealed,
            "previous_secret_sealed": None,
            "previous_valid_until": None,
            "subscribed_at": subscribed_at,
        }

    @event("Changed")
    def change(
        self,
        subscription_id: str,
        url: str,
        event_types: list[str],
        description: str,
        paused: bool,
    ) -> None:
        self.subscriptions[subscription_id].update(
            url=url, event_types=list(event_types), description=description, paused=paused
        )

    @event("Unsubscribed")
    def unsubscribe(self, subscription_id: str) -> None:
        del self.subscriptions[subscription_id]

    @event("SecretRotated")
    def rotate_secret(
        self,
        subscription_id: str,
        secret_sealed: str,
        previous_secret_sealed: str,
        previous_valid_until: str,
    ) -> None:
        self.subscriptions[subscription_id].update(
            secret_sealed=secret_sealed,
            previous_secret_sealed=previous_secret_sealed,
            previous_valid_until=previous_valid_until,
        )

    @event("HostsAllowed")
    def allow_hosts(self, allowed_hosts: list[str]) -> None:
        self.allowed_hosts = list(allowed_hosts)
