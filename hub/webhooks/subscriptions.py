"""Commands on a tenant's webhook subscriptions: subscribe, change, delete, rotate, allow hosts.

Errors (each a precise 4xx at the API):

    WebhookError                  a subscription cannot be made or changed as asked
     ├── UnknownTenantError       the tenant is not registered
     ├── InvalidWebhookUrlError   not https (outside the allow-listed hosts), or a private address
     └── TooManySubscriptionsError the tenant holds `MAX_SUBSCRIPTIONS` already

plus `hub.domain.webhooks.UnknownSubscriptionError` and
`hub.webhooks.event_types.UnknownEventTypeError`.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from eventsourcing.application import AggregateNotFoundError, Application

from hub.application import Hub
from hub.domain.webhooks import Subscription, WebhookRegistry, webhook_registry_id
from hub.webhooks.event_types import check_event_types
from infra.http import is_public
from infra.secrets import SecretBox
from infra.standard_webhooks import new_secret

MAX_SUBSCRIPTIONS = 100


class WebhookError(ValueError):
    """Raised when a subscription cannot be made or changed as asked."""


class UnknownTenantError(WebhookError):
    """Raised for a tenant that is not registered."""


class InvalidWebhookUrlError(WebhookError):
    """Raised for a URL that is not https outside the allow-listed hosts, or names a
    private address that is not allow-listed."""


class TooManySubscriptionsError(WebhookError):
    """Raised when the tenant already holds `MAX_SUBSCRIPTIONS` subscriptions."""


def secret_context(tenant: str, subscription_id: str) -> str:
    return f"{tenant}:webhooks:{subscription_id}"


def read_registry(app: Application[Any], tenant: str) -> WebhookRegistry | None:
    """The tenant's registry in `app` (the hub, or a reader of its log), if it has one."""
    try:
        found: WebhookRegistry = app.repository.get(webhook_registry_id(tenant))
    except AggregateNotFoundError:
        return None
    return found


def check_url(url: str, allowed_hosts: list[str]) -> str:
    """`url` if it may be a target: https, or any scheme of http(s) to an allow-listed host;
    a private IP address only if allow-listed (the delivery's guard checks names too)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    allowed = host in allowed_hosts
    if parts.scheme != "https" and not allowed:
        msg = f"the URL must be https (http only to an allow-listed host; {host!r} is not)"
        raise InvalidWebhookUrlError(msg)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return url
    if not allowed and not is_public(str(literal)):
        msg = f"{host} is not a public address; allow-list it for the tenant first"
        raise InvalidWebhookUrlError(msg)
    return url


@dataclass(frozen=True)
class NewSubscription:
    """A subscription just made, with its signing secret: shown once, never again."""

    subscription: Subscription
    secret: str
    position: int


@dataclass(frozen=True)
class Registries:
    """The commands, on the hub's log and the hub's key."""

    hub: Hub
    box: SecretBox

    def _registry(self, tenant: str) -> WebhookRegistry:
        registry = read_registry(self.hub, tenant)
        if registry is not None:
            return registry
        if self.hub.tenant(tenant) is None:
            msg = f"no tenant {tenant!r} is registered"
            raise UnknownTenantError(msg)
        return WebhookRegistry(tenant=tenant)

    def _save(self, registry: WebhookRegistry) -> int:
        return self.hub.save(registry)[-1].notification.id

    def subscribe(
        self, tenant: str, *, url: str, event_types: list[str], description: str, now: datetime
    ) -> NewSubscription:
        registry = self._registry(tenant)
        if len(registry.subscriptions) >= MAX_SUBSCRIPTIONS:
            msg = f"a tenant holds at most {MAX_SUBSCRIPTIONS} subscriptions"
            raise TooManySubscriptionsError(msg)
        types = check_event_types(event_types)
        check_url(url, registry.allowed_hosts)
        subscription_id = f"whk_{secrets.token_hex(12)}"
        secret = new_secret()
        sealed = self.box.encrypt(secret, context=secret_context(tenant, subscription_id))
        registry.subscribe(subscription_id, url, types, description, sealed, now.isoformat())
        position = self._save(registry)
        return NewSubscription(registry.subscription(subscription_id), secret, position)

    def change(
        self,
        tenant: str,
        subscription_id: str,
        *,
        url: str | None = None,
        event_types: list[str] | None = None,
        description: str | None = None,
        paused: bool | None = None,
    ) -> Subscription:
        """Change what is given; what is None stays."""
        registry = self._registry(tenant)
        current = registry.subscription(subscription_id)
        types = current.event_types if event_types is None else check_event_types(event_types)
        target = current.url if url is None else check_url(url, registry.allowed_hosts)
        registry.change(
            subscription_id,
            target,
            list(types),
            current.description if description is None else description,
            current.paused if paused is None else paused,
        )
        self._save(registry)
        return registry.subscription(subscription_id)

    def unsubscribe(self, tenant: str, subscription_id: str) -> None:
        registry = self._registry(tenant)
        registry.check_subscribed(subscription_id)
        registry.unsubscribe(subscription_id)
        self._save(registry)

    def rotate_secret(
        self, tenant: str, subscription_id: str, *, overlap: timedelta, now: datetime
    ) -> tuple[Subscription, str]:
        """A new signing secret; the old one signs too until `now + overlap`."""
        registry = self._registry(tenant)
        current = registry.subscription(subscription_id)
        secret = new_secret()
        sealed = self.box.encrypt(secret, context=secret_context(tenant, subscription_id))
        until = (now + overlap).isoformat()
        registry.rotate_secret(subscription_id, sealed, current.secret_sealed, until)
        self._save(registry)
        return registry.subscription(subscription_id), secret

    def allow_hosts(self, tenant: str, hosts: list[str]) -> list[str]:
        registry = self._registry(tenant)
        cleaned = sorted({h.strip().lower() for h in hosts if h.strip()})
        registry.allow_hosts(cleaned)
        self._save(registry)
        return cleaned


def signing_secrets(
    subscription: Subscription, box: SecretBox, tenant: str, now: datetime
) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during its overlap."""
    context = secret_context(tenant, subscription.id)
    found = [box.decrypt(subscription.secret_sealed, context=context)]
    previous, until = subscription.previous_secret_sealed, subscription.previous_valid_until
    if previous is not None and until is not None and datetime.fromisoformat(until) > now:
        found.append(box.decrypt(previous, context=context))
    return found
