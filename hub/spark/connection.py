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
from hub.secret_kinds import SparkSecret
from infra.secrets import SecretBox, new_secret

CACHE_TTL_S = 30.0
DEFAULT_OVERLAP_S = 86_400
MAX_OVERLAP_S = 7 * 86_400
MISSING_TTL_S = 5.0
DEFAULT_WEBHOOK_LIMIT = 100
# Spark's API key is issued by Spark; until the tenant has one, this placeholder is stored
# and the course-sync connector must refuse to call Spark with it.
API_KEY_PLACEHOLDER = "spark-api-key-not-set"


class UnknownTenantError(LookupError):
    """Raised when connecting Spark for a tenant that is not registered."""


class SparkAlreadyConnectedError(Exception):
    """Raised when the tenant already has a Spark connection (rotate or update it instead)."""


class SparkNotConnectedError(LookupError):
    """Raised when updating or rotating the Spark connection of a tenant that has none."""


@dataclass(frozen=True)
class RotatedSparkSecret:
    """A new Spark secret, shown once; the old one verifies until `retired_until`."""

    tenant: str
    which: str
    secret: str
    retired_until: float
    position: int


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
    """A connection's secrets, unsealed for verification (never logged, never returned).

    `sso` and `webhook` are the live ones, the current first; `expired_*` the retired
    one once past its window, kept only to tell a caller why it was refused.
    """

    sso: tuple[str, ...]
    webhook: tuple[str, ...]
    expired_sso: tuple[str, ...] = ()
    expired_webhook: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Unsealed:
    current: str
    retired: str | None
    until: float

    def live(self, inside: bool) -> tuple[str, ...]:
        return (self.current, self.retired) if self.retired and inside else (self.current,)

    def expired(self, inside: bool) -> tuple[str, ...]:
        return (self.retired,) if self.retired and not inside else ()


@dataclass(frozen=True)
class _Opened:
    """One connection's secrets, opened: the answer for each side of each window, made once."""

    box: SecretBox
    sso_until: float
    webhook_until: float
    answers: dict[tuple[bool, bool], OpenedSecrets]

    @classmethod
    def of(cls, box: SecretBox, sso: _Unsealed, webhook: _Unsealed) -> _Opened:
        answers = {
            (in_sso, in_webhook): OpenedSecrets(
                sso=sso.live(in_sso),
                webhook=webhook.live(in_webhook),
                expired_sso=sso.expired(in_sso),
                expired_webhook=webhook.expired(in_webhook),
            )
            for in_sso in (True, False)
            for in_webhook in (True, False)
        }
        return cls(box, sso.until, webhook.until, answers)


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
        _hosts(allowed_evidence_hosts),
        webhook_limit_per_minute,
    )
    recordings = hub.save(connection)
    cache_for(hub).invalidate(tenant)
    return SparkSecrets(tenant, sso_secret, webhook_secret, key, recordings[-1].notification.id)


_OPENED_MAX = 1024
_opened: dict[tuple[object, ...], _Opened] = {}


def _unseal(connection: SparkConnection, box: SecretBox, which: str) -> _Unsealed:
    context = _context(connection.tenant, which)
    retired: str | None = getattr(connection, f"retired_{which}_sealed")
    return _Unsealed(
        current=box.decrypt(getattr(connection, f"{which}_secret_sealed"), context=context),
        retired=None if retired is None else box.decrypt(retired, context=context),
        until=getattr(connection, f"retired_{which}_until"),
    )


def open_secrets(
    connection: SparkConnection, box: SecretBox, *, now: float | None = None
) -> OpenedSecrets:
    """The connection's secrets in clear at `now` (default: the wall clock).

    Every webhook and sign-in needs them, and AES-GCM per request cost more than the
    rest of the check: they are opened once per sealed value and box. The key is the
    sealed values themselves, so a rotation (or another hub's connection of the same
    name) opens afresh; the map is bounded. Which are live is decided at each call
    (two comparisons), so a retired secret stops verifying the moment its window ends.
    """
    key = (
        connection.sso_secret_sealed,
        connection.webhook_secret_sealed,
        connection.retired_sso_sealed,
        connection.retired_webhook_sealed,
    )
    opened = _opened.get(key)
    if opened is None or opened.box is not box:
        sso, webhook = _unseal(connection, box, "sso"), _unseal(connection, box, "webhook")
        opened = _Opened.of(box, sso, webhook)
        if len(_opened) >= _OPENED_MAX:
            _opened.clear()
        _opened[key] = opened
    at = time.time() if now is None else now
    return opened.answers[at < opened.sso_until, at < opened.webhook_until]


def _connected(hub: Hub, tenant: str) -> SparkConnection:
    found = _read(hub, tenant)
    if found is None:
        msg = f"tenant {tenant!r} is not connected to Spark; connect it first"
        raise SparkNotConnectedError(msg)
    return found


def _hosts(hosts: Iterable[str]) -> list[str]:
    return sorted({h.strip().lower() for h in hosts if h.strip()})


def update_spark(
    hub: Hub,
    box: SecretBox,
    tenant: str,
    *,
    api_url: str | None = None,
    issuer: str | None = None,
    clear_issuer: bool = False,
    allowed_evidence_hosts: Iterable[str] | None = None,
    webhook_limit_per_minute: int | None = None,
    api_key: str | None = None,
) -> int:
    """Record `SparkConnection.Updated` with what was given (the rest kept): the position."""
    if webhook_limit_per_minute is not None and webhook_limit_per_minute < 1:
        msg = "webhook_limit_per_minute must be at least 1"
        raise ValueError(msg)
    connection = _connected(hub, tenant)
    connection.update(
        api_url=api_url or connection.api_url,
        issuer=None if clear_issuer else (issuer or connection.issuer),
        allowed_evidence_hosts=(
            list(connection.allowed_evidence_hosts)
            if allowed_evidence_hosts is None
            else _hosts(allowed_evidence_hosts)
        ),
        webhook_limit_per_minute=webhook_limit_per_minute or connection.webhook_limit_per_minute,
        api_key_sealed=(
            None if api_key is None else box.encrypt(api_key, context=_context(tenant, "api"))
        ),
    )
    position = hub.save(connection)[-1].notification.id
    cache_for(hub).invalidate(tenant)
    return position


def rotate_spark_secret(
    hub: Hub,
    box: SecretBox,
    tenant: str,
    which: SparkSecret,
    *,
    overlap_s: int = DEFAULT_OVERLAP_S,
    now: float | None = None,
) -> RotatedSparkSecret:
    """A new SSO or webhook secret; the current one keeps verifying for `overlap_s` seconds."""
    if not 0 <= overlap_s <= MAX_OVERLAP_S:
        msg = f"overlap must be between 0 and {MAX_OVERLAP_S} seconds"
        raise ValueError(msg)
    connection = _connected(hub, tenant)
    secret = new_secret("sparksso" if which is SparkSecret.SSO else "sparkwh")
    until = (time.time() if now is None else now) + overlap_s
    connection.rotate_secret(
        which=which.value,
        new_sealed=box.encrypt(secret, context=_context(tenant, which.value)),
        retired_until=until,
    )
    position = hub.save(connection)[-1].notification.id
    cache_for(hub).invalidate(tenant)
    return RotatedSparkSecret(tenant, which.value, secret, until, position)


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
