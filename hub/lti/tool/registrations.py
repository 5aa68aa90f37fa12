"""Platforms registered per tenant: record one, and find one (cached) by issuer and client_id.

Lookups are cached per process for a few seconds (a launch must not read the log for
its registration each time); `register_platform` invalidates its own process's cache,
other processes see a change within `CACHE_TTL_S`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from hub.application import Hub
from hub.domain.lti_tool import PlatformRegistration, registration_id
from hub.lti.tool.known import Known, per_hub
from schemas.lti_tool import PlatformRegistrationIn

CACHE_TTL_S = 10.0

Key = tuple[str, str, str]  # tenant, issuer, client_id


class UnknownTenantError(LookupError):
    """Raised when registering a platform for a tenant that is not registered."""


@dataclass(frozen=True)
class Registered:
    registration: PlatformRegistration
    position: int | None  # None when nothing changed


def _read(hub: Hub, key: Key) -> PlatformRegistration | None:
    try:
        found: PlatformRegistration = hub.repository.get(registration_id(*key))
    except AggregateNotFoundError:
        return None
    return found


def register_platform(hub: Hub, tenant: str, given: PlatformRegistrationIn) -> Registered:
    """Record `Registered`, or `Updated` when the platform is known and its settings changed."""
    if hub.tenant(tenant) is None:
        msg = f"no tenant {tenant!r} is registered; create it first"
        raise UnknownTenantError(msg)
    settings: dict[str, Any] = {
        "deployment_ids": list(dict.fromkeys(given.deployment_ids)),
        "auth_login_url": str(given.auth_login_url),
        "auth_token_url": str(given.auth_token_url),
        "jwks_url": str(given.jwks_url),
        "allowed_hosts": sorted({h.strip().lower() for h in given.allowed_hosts if h.strip()}),
    }
    existing = _read(hub, (tenant, given.issuer, given.client_id))
    if existing is None:
        registration = PlatformRegistration(
            tenant=tenant,
            name=given.name,
            issuer=given.issuer,
            client_id=given.client_id,
            **settings,
        )
    else:
        registration = existing
        current = {key: getattr(existing, key) for key in settings}
        if current == settings and existing.name == given.name:
            return Registered(existing, None)
        registration.update(name=given.name, **settings)
    recordings = hub.save(registration)
    registrations_for(hub).invalidate()
    return Registered(registration, recordings[-1].notification.id)


_MISSING = object()


class RegistrationCache:
    """(tenant, issuer, client_id) -> the registration or None, for a few seconds."""

    def __init__(self, *, ttl_s: float = CACHE_TTL_S) -> None:
        self._known = Known(ttl_s=ttl_s)

    def cached(self, key: Key) -> tuple[bool, PlatformRegistration | None]:
        """Never blocks: (True, answer) while fresh, else (False, None)."""
        found = self._known.get("\x1f".join(key))
        if found is None:
            return False, None
        return True, None if found is _MISSING else found

    def get(self, hub: Hub, key: Key) -> PlatformRegistration | None:
        hit, answer = self.cached(key)
        if hit:
            return answer
        found = _read(hub, key)
        self._known.put("\x1f".join(key), _MISSING if found is None else found)
        return found

    def invalidate(self) -> None:
        self._known.clear()


registrations_for = per_hub(RegistrationCache)
"""The process's registration cache of a hub."""
