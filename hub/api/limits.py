"""A tenant's API rate limits: reading and recording them, and the process's cache of them.

Limits are requests per minute (`hub.http.ratelimit`'s sliding window): one for the
tenant as a whole, one for each of its API clients. A tenant that set none has the
defaults of `Settings`. What a process read is kept `CACHE_TTL_S`, so counting a request
costs no read; a change made here is seen at once, one made elsewhere within that time.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError
from pydantic import BaseModel, Field

from hub.application import Hub
from hub.domain.api_clients import ApiRateLimits, api_rate_limits_id
from hub.domain.base import InvalidTenantError
from hub.lti.tool.known import Known
from infra.settings import Settings

CACHE_TTL_S = 10.0
MAX_PER_MINUTE = 1_000_000


class RateLimitsIn(BaseModel):
    """A tenant's limits, in requests per minute."""

    tenant_per_minute: int = Field(gt=0, le=MAX_PER_MINUTE, examples=[6000])
    client_per_minute: int = Field(gt=0, le=MAX_PER_MINUTE, examples=[1200])


class RateLimitsView(RateLimitsIn):
    tenant: str
    configured: bool = Field(description="false: the hub's defaults apply")


@dataclass(frozen=True)
class TenantLimits:
    tenant_per_minute: int
    client_per_minute: int


def default_limits(settings: Settings) -> TenantLimits:
    return TenantLimits(
        settings.api_rate_limit_tenant_per_minute, settings.api_rate_limit_client_per_minute
    )


def _recorded(hub: Hub, tenant: str) -> ApiRateLimits | None:
    try:
        found: ApiRateLimits = hub.repository.get(api_rate_limits_id(tenant))
    except AggregateNotFoundError:
        return None
    return found


def read_limits(hub: Hub, settings: Settings, tenant: str) -> RateLimitsView:
    found = _recorded(hub, tenant)
    if found is None:
        defaults = default_limits(settings)
        return RateLimitsView(
            tenant=tenant,
            configured=False,
            tenant_per_minute=defaults.tenant_per_minute,
            client_per_minute=defaults.client_per_minute,
        )
    return RateLimitsView(
        tenant=tenant,
        configured=True,
        tenant_per_minute=found.tenant_per_minute,
        client_per_minute=found.client_per_minute,
    )


def set_limits(hub: Hub, tenant: str, given: RateLimitsIn) -> int | None:
    """Record the tenant's limits (`Set`, then `Changed`); the same ones record nothing."""
    found = _recorded(hub, tenant)
    if found is None:
        found = ApiRateLimits(tenant, given.tenant_per_minute, given.client_per_minute)
    elif (found.tenant_per_minute, found.client_per_minute) == (
        given.tenant_per_minute,
        given.client_per_minute,
    ):
        return None
    else:
        found.change(given.tenant_per_minute, given.client_per_minute)
    return hub.save(found)[-1].notification.id


class LimitsCache:
    """tenant -> its limits, or None for a tenant that is not registered (a bounded cache)."""

    def __init__(self, hub: Hub, settings: Settings, *, ttl_s: float = CACHE_TTL_S) -> None:
        self.hub = hub
        self.settings = settings
        self._known = Known(ttl_s=ttl_s)

    def cached(self, tenant: str) -> tuple[TenantLimits | None] | None:
        """(the tenant's limits, or None for an unknown tenant), or None when they must be
        read."""
        found: tuple[TenantLimits | None] | None = self._known.get(tenant)
        return found

    def load(self, tenant: str) -> TenantLimits | None:
        """Read the tenant's limits (blocking: call off the event loop) and keep them."""
        try:
            known = self.hub.tenant(tenant) is not None
        except InvalidTenantError:
            known = False
        limits = None
        if known:
            view = read_limits(self.hub, self.settings, tenant)
            limits = TenantLimits(view.tenant_per_minute, view.client_per_minute)
        self.put(tenant, limits)
        return limits

    def put(self, tenant: str, limits: TenantLimits | None) -> None:
        """Remember `tenant`'s limits (None: not a registered tenant)."""
        self._known.put(tenant, (limits,))

    def forget(self, tenant: str) -> None:
        self._known.put(tenant, None)
