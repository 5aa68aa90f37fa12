"""A tenant's Caliper settings: on or off, which event types, pseudonyms, the HTTP endpoint.

`CaliperSettings` lives in the hub's log (one per tenant, deterministic id), so the
emitter sees a change in log order: the events recorded after a tenant is turned off
are never emitted. The endpoint's bearer token and the tenant's pseudonym key are
sealed with the hub's key (`SecretBox`), each under its own context, and never read
back through the API.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import event

from hub.application import Hub
from hub.domain.base import HubAggregate, aggregate_id
from infra.secrets import SecretBox, new_secret

EVENT_TYPES = (
    "SessionEvent",
    "ToolLaunchEvent",
    "NavigationEvent",
    "ViewEvent",
    "AssignableEvent",
    "AssessmentEvent",
    "GradeEvent",
)
"""The Caliper event types the hub can emit (a tenant enables any of them)."""


def caliper_settings_id(tenant: str) -> str:
    return aggregate_id(tenant, "CaliperSettings", "caliper")


def token_context(tenant: str) -> str:
    return f"{tenant}:caliper:token"


def pseudonym_context(tenant: str) -> str:
    return f"{tenant}:caliper:pseudonym"


class UnknownEventTypeError(ValueError):
    """Raised for an event type the hub does not emit."""


class UnknownTenantError(LookupError):
    """Raised when configuring Caliper for a tenant that is not registered."""


def check_event_types(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        msg = f"unknown Caliper event types {unknown}; the hub emits {list(EVENT_TYPES)}"
        raise UnknownEventTypeError(msg)
    return [t for t in EVENT_TYPES if t in event_types]


class CaliperSettings(HubAggregate):
    """Each event carries the whole configuration (secrets sealed), so it stands alone."""

    @staticmethod
    def create_id(tenant: str, **_: object) -> str:
        return caliper_settings_id(tenant)

    @event("Configured")
    def __init__(  # noqa: PLR0917 - an @event method's parameters are its event's fields
        self,
        tenant: str,
        enabled: bool,
        event_types: list[str],
        pseudonymous: bool,
        endpoint_url: str | None,
        token_sealed: str | None,
        allowed_hosts: list[str],
        pseudonym_key_sealed: str,
    ) -> None:
        self._apply(enabled, event_types, pseudonymous, endpoint_url, token_sealed, allowed_hosts)
        self.pseudonym_key_sealed = pseudonym_key_sealed

    @event("Reconfigured")
    def reconfigure(  # noqa: PLR0917
        self,
        enabled: bool,
        event_types: list[str],
        pseudonymous: bool,
        endpoint_url: str | None,
        token_sealed: str | None,
        allowed_hosts: list[str],
    ) -> None:
        self._apply(enabled, event_types, pseudonymous, endpoint_url, token_sealed, allowed_hosts)

    def _apply(  # noqa: PLR0917 - the fields of both events, in their order
        self,
        enabled: bool,
        event_types: list[str],
        pseudonymous: bool,
        endpoint_url: str | None,
        token_sealed: str | None,
        allowed_hosts: list[str],
    ) -> None:
        self.enabled = enabled
        self.event_types = event_types
        self.pseudonymous = pseudonymous
        self.endpoint_url = endpoint_url
        self.token_sealed = token_sealed
        self.allowed_hosts = allowed_hosts

    def emits(self, event_type: str) -> bool:
        return self.enabled and event_type in self.event_types


@dataclass(frozen=True)
class CaliperConfig:
    """What an admin sets; `bearer_token` None keeps the stored one, "" removes it."""

    enabled: bool = True
    event_types: tuple[str, ...] = EVENT_TYPES
    pseudonymous: bool = False
    endpoint_url: str | None = None
    bearer_token: str | None = None
    allowed_hosts: tuple[str, ...] = ()


def read_settings(hub: Hub, tenant: str) -> CaliperSettings | None:
    try:
        found: CaliperSettings = hub.repository.get(caliper_settings_id(tenant))
    except AggregateNotFoundError:
        return None
    return found


def configure_caliper(hub: Hub, box: SecretBox, tenant: str, config: CaliperConfig) -> int:
    """Record the tenant's Caliper settings; returns the log position."""
    if hub.tenant(tenant) is None:
        msg = f"no tenant {tenant!r} is registered; create it first"
        raise UnknownTenantError(msg)
    event_types = check_event_types(list(config.event_types))
    hosts = sorted({h.strip().lower() for h in config.allowed_hosts if h.strip()})
    current = read_settings(hub, tenant)
    if config.bearer_token is None:
        sealed = current.token_sealed if current is not None else None
    elif config.bearer_token == "":
        sealed = None
    else:
        sealed = box.encrypt(config.bearer_token, context=token_context(tenant))
    fields: dict[str, Any] = {
        "enabled": config.enabled,
        "event_types": event_types,
        "pseudonymous": config.pseudonymous,
        "endpoint_url": config.endpoint_url,
        "token_sealed": sealed,
        "allowed_hosts": hosts,
    }
    if current is None:
        key = box.encrypt(new_secret("calpk"), context=pseudonym_context(tenant))
        current = CaliperSettings(tenant=tenant, pseudonym_key_sealed=key, **fields)
    else:
        current.reconfigure(**fields)
    recordings = hub.save(current)
    return recordings[-1].notification.id


def pseudonym(key: str, tenant: str, person_key: str) -> str:
    """A stable pseudonym of a person: HMAC-SHA256 under the tenant's key (hex)."""
    message = f"{tenant}\x1f{person_key}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
