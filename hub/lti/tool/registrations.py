"""Platforms registered per tenant: record one, and find one (cached) by issuer and client_id.

Lookups are cached per process for a few seconds (a launch must not read the log for
its registration each time); `register_platform` invalidates its own process's cache,
other processes see a change within `CACHE_TTL_S`.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from hub.application import Hub
from hub.domain.lti_tool import PlatformRegistration, registration_id
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


class RegistrationCache:
    """(tenant, issuer, client_id) -> the registration or None, for a few seconds."""

    def __init__(
        self, *, ttl_s: float = CACHE_TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._items: dict[Key, tuple[PlatformRegistration | None, float]] = {}
        self._lock = threading.Lock()

    def cached(self, key: Key) -> tuple[bool, PlatformRegistration | None]:
        """Never blocks: (True, answer) while fresh, else (False, None)."""
        item = self._items.get(key)
        if item is not None and item[1] > self.clock():
            return True, item[0]
        return False, None

    def get(self, hub: Hub, key: Key) -> PlatformRegistration | None:
        hit, answer = self.cached(key)
        if hit:
            return answer
        found = _read(hub, key)
        with self._lock:
            self._items[key] = (found, self.clock() + self.ttl_s)
        return found

    def invalidate(self) -> None:
        with self._lock:
            self._items.clear()


_caches: weakref.WeakKeyDictionary[Hub, RegistrationCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def registrations_for(hub: Hub) -> RegistrationCache:
    """The process's cache for `hub` (one per application object)."""
    with _caches_lock:
        cache = _caches.get(hub)
        if cache is None:
            cache = _caches[hub] = RegistrationCache()
        return cache
