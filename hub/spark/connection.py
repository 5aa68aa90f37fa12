"""A tenant's Spark connection: configured once (secrets shown once), then looked up per signal.

The secrets are sealed with the hub's key (`SecretBox`), each under its own context
(`<tenant>:spark:sso`, `<tenant>:spark:webhook`, `<tenant>:spark:api`), so a sealed
value copied to another tenant or purpose does not open.

Lookups are cached per `Hub` for a few seconds: a webhook must not read the connection
from NATS each time. `connect_spark` invalidates the cache of its own process; other
processes see a new connection within `CACHE_TTL_S` (an absent one within
`MISSING_TTL_S`).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError

from hub.application import Hub
from hub.domain.spark import SparkConnection, spark_connection_id
from infra.secrets import SecretBox, new_secret

CACHE_TTL_S = 30.0
MISSING_TTL_S = 5.0
DEFAULT_WEBHOOK_LIMIT = 100
# Spark's API key is issued by Spark; until the tenant has one, this placeholder is stored
# and the course-sync connector must refuse to call Spark with it.
API_KEY_PLACEHOLDER = "spark-api-key-not-set"


class UnknownTenantError(LookupError):
    """Raised when connecting Spark for a tenant that is not registered."""


class SparkAlreadyConnectedError(Exception):
    """Raised when the tenant already has a Spark connection (rotation is a later command)."""


@dataclass(frozen=True)
class SparkSecrets:
    """What `connect_spark` returns: the plaintext secrets, shown once, and the log position."""

    tenant: str
    sso_secret: str
    webhook_secret: str
    api_key: str
    position: int


@dataclass(frozen=True)
class OpenedSecrets:
    """A connection's secrets, unsealed for verification (never logged, never returned)."""

    sso: tuple[str, ...]
    webhook: tuple[str, ...]


def _context(tenant: str, purpose: str) -> str:
    return f"{tenant}:spark:{purpose}"


def connect_spark(
    hub: Hub,
    box: SecretBox,
    tenant: str,
    api_url: str,
    *,
    issuer: str | None = None,
    allowed_evidence_hosts: Iterable[str] = (),
    webhook_limit_per_minute: int = DEFAULT_WEBHOOK_LIMIT,
    api_key: str | None = None,
) -> SparkSecrets:
    """Record `SparkConnection.Connected` with new SSO and webhook secrets."""
    if webhook_limit_per_minute < 1:
        msg = "webhook_limit_per_minute must be at least 1"
        raise ValueError(msg)
    if hub.tenant(tenant) is None:
        msg = f"no tenant {tenant!r} is registered; create it first"
        raise UnknownTenantError(msg)
    if _read(hub, tenant) is not None:
        msg = f"tenant {tenant!r} already has a Spark connection"
        raise SparkAlreadyConnectedError(msg)
    sso_secret, webhook_secret = new_secret("sparksso"), new_secret("sparkwh")
    key = api_key or API_KEY_PLACEHOLDER
    connection = SparkConnection(
        tenant,
        api_url,
        box.encrypt(key, context=_context(tenant, "api")),
        box.encrypt(sso_secret, context=_context(tenant, "sso")),
        box.encrypt(webhook_secret, context=_context(tenant, "webhook")),
        issuer,
        sorted({h.strip().lower() for h in allowed_evidence_hosts if h.strip()}),
        webhook_limit_per_minute,
    )
    recordings = hub.save(connection)
    cache_for(hub).invalidate(tenant)
    return SparkSecrets(tenant, sso_secret, webhook_secret, key, recordings[-1].notification.id)


_OPENED_MAX = 1024
_opened: dict[tuple[object, ...], tuple[SecretBox, OpenedSecrets]] = {}


def open_secrets(connection: SparkConnection, box: SecretBox) -> OpenedSecrets:
    """The connection's secrets in clear, opened once per sealed value and box.

    Every webhook and sign-in needs them, and AES-GCM per request cost more than the
    rest of the check. The key is the sealed values themselves, so a rotation (or
    another hub's connection of the same name) opens afresh; the map is bounded.
    """
    key = (connection.sso_secret_sealed, connection.webhook_secret_sealed)
    cached = _opened.get(key)
    if cached is not None and cached[0] is box:
        return cached[1]
    tenant = connection.tenant
    opened = OpenedSecrets(
        sso=(box.decrypt(connection.sso_secret_sealed, context=_context(tenant, "sso")),),
        webhook=(
            box.decrypt(connection.webhook_secret_sealed, context=_context(tenant, "webhook")),
        ),
    )
    if len(_opened) >= _OPENED_MAX:
        _opened.clear()
    _opened[key] = (box, opened)
    return opened


def _read(hub: Hub, tenant: str) -> SparkConnection | None:
    try:
        found: SparkConnection = hub.repository.get(spark_connection_id(tenant))
    except AggregateNotFoundError:
        return None
    return found


class ConnectionCache:
    """tenant -> (connection or None, expiry), per process; thread-safe."""

    def __init__(
        self,
        *,
        ttl_s: float = CACHE_TTL_S,
        missing_ttl_s: float = MISSING_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.missing_ttl_s = missing_ttl_s
        self.clock = clock
        self._items: dict[str, tuple[SparkConnection | None, float]] = {}
        self._lock = threading.Lock()

    def cached(self, tenant: str) -> tuple[bool, SparkConnection | None]:
        """(True, the answer) while a fresh answer is cached; (False, None) otherwise.

        Never blocks: the event loop may call it, and read the log only on a miss.
        """
        with self._lock:
            item = self._items.get(tenant)
        if item is not None and item[1] > self.clock():
            return True, item[0]
        return False, None

    def get(self, hub: Hub, tenant: str) -> SparkConnection | None:
        hit, answer = self.cached(tenant)
        if hit:
            return answer
        now = self.clock()
        found = _read(hub, tenant)
        ttl = self.ttl_s if found is not None else self.missing_ttl_s
        with self._lock:
            self._items[tenant] = (found, now + ttl)
        return found

    def invalidate(self, tenant: str | None = None) -> None:
        with self._lock:
            if tenant is None:
                self._items.clear()
            else:
                self._items.pop(tenant, None)


_caches: weakref.WeakKeyDictionary[Hub, ConnectionCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def cache_for(hub: Hub) -> ConnectionCache:
    with _caches_lock:
        cache = _caches.get(hub)
        if cache is None:
            cache = _caches[hub] = ConnectionCache()
        return cache


def spark_connection(hub: Hub, tenant: str) -> SparkConnection | None:
    """The tenant's Spark connection (cached), or None when it has none."""
    return cache_for(hub).get(hub, tenant)
