"""Tenant administration: list, rename, rotate the tenant's own secrets (shown once)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from hub.application import Hub
from hub.domain.base import tenant_of
from hub.domain.tenants import Tenant
from hub.secret_kinds import TenantSecret
from infra.jetstream.recorders import JetStreamApplicationRecorder
from infra.secrets import SecretBox, hash_api_key, new_secret

MAX_PAGE = 500


class UnknownTenantError(LookupError):
    """Raised for a tenant slug that is not registered."""


@dataclass(frozen=True)
class TenantPage:
    tenants: list[Tenant]
    next_after: str | None


@dataclass(frozen=True)
class RotatedSecret:
    """A new secret, shown once, and the log position of its rotation."""

    tenant: str
    which: str
    secret: str
    position: int


def tenants_having(hub: Application[str], aggregate_type: str, created: type[Any]) -> list[str]:
    """Every tenant with an aggregate of this type, read by subject (not a scan of the log)."""
    recorder = hub.recorder
    if isinstance(recorder, JetStreamApplicationRecorder):
        from hub.replay import ReplayFilter, replay  # noqa: PLC0415 - JetStream only

        records = replay(
            recorder.connection,
            recorder.subjects.prefix,
            ReplayFilter(app=hub.name, aggregate_type=aggregate_type),
        )
        return sorted({str(record["tenant"]) for record in records})
    topic = get_topic(created)
    tenants: set[str] = set()
    start: int | None = None
    while True:
        page = recorder.select_notifications(start, 1000, topics=[topic], inclusive_of_start=False)
        tenants.update(tenant_of(str(n.originator_id)) for n in page)
        if len(page) < 1000:
            return sorted(tenants)
        start = page[-1].id


def list_tenants(hub: Hub, *, after: str | None = None, limit: int = 100) -> TenantPage:
    """Tenants by slug, `limit` at a time after the slug `after`."""
    limit = max(1, min(limit, MAX_PAGE))
    registered = Tenant.Registered  # type: ignore[attr-defined]
    slugs = [s for s in tenants_having(hub, "Tenant", registered) if not after or s > after]
    page = [t for t in (hub.tenant(slug) for slug in slugs[:limit]) if t is not None]
    return TenantPage(page, page[-1].slug if len(slugs) > limit and page else None)


def _existing(hub: Hub, slug: str) -> Tenant:
    tenant = hub.tenant(slug)
    if tenant is None:
        msg = f"no tenant {slug!r} is registered"
        raise UnknownTenantError(msg)
    return tenant


def rename_tenant(hub: Hub, slug: str, name: str) -> int:
    """Record `Tenant.Renamed` (nothing when the name is already that): the log position."""
    tenant = _existing(hub, slug)
    if tenant.name == name:
        return 0
    tenant.rename(name)
    return hub.save(tenant)[-1].notification.id


def rotate_tenant_secret(hub: Hub, box: SecretBox, slug: str, which: TenantSecret) -> RotatedSecret:
    """A new API key (only its hash kept) or webhook secret (sealed); the old one stops now."""
    tenant = _existing(hub, slug)
    if which is TenantSecret.API_KEY:
        secret = new_secret("hubk")
        tenant.rotate_api_key(hash_api_key(secret))
    else:
        secret = new_secret("whsec")
        tenant.rotate_webhook_secret(box.encrypt(secret, context=f"{slug}:webhook"))
    position = hub.save(tenant)[-1].notification.id
    return RotatedSecret(slug, which.value, secret, position)
