"""Rate limits on the LTI endpoints, per tenant and per client_id, set per tenant by an admin.

Seed 003 §5.6 asks for per-tenant limits on launches, AGS and NRPS without naming figures,
so the defaults below are ours: per minute, generous for a school's peak (a class of 300
launching at once; a tool posting a score for each of them several times), small enough
that a runaway client cannot take a tenant's share of the process. Each request is counted
against its tenant's window and, once its client is known (a tool's access token, the
platform registration a launch names), against that client's window too.

The windows are `hub.http.ratelimit.SlidingWindowLimiter`'s (in-process, as for Spark);
a tenant's configured limits are read through a 10 s cache, so a request costs no read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from eventsourcing.application import AggregateNotFoundError
from starlette.concurrency import run_in_threadpool

from hub.application import Hub
from hub.domain.lti_limits import LtiRateLimits, rate_limits_id
from hub.http.ratelimit import Decision, SlidingWindowLimiter
from hub.lti.tool.known import Known, per_hub
from schemas.lti import RateLimitsIn

CACHE_TTL_S = 10.0
DEFAULT_TENANT: Mapping[str, int] = {
    "login": 1200,
    "launch": 1200,
    "authorize": 1200,
    "token": 300,
    "ags": 12_000,
    "nrps": 3000,
}
DEFAULT_CLIENT: Mapping[str, int] = {
    "login": 600,
    "launch": 600,
    "authorize": 600,
    "token": 120,
    "ags": 6000,
    "nrps": 1200,
}

NO_LIMIT: dict[str, int] = dict.fromkeys(DEFAULT_TENANT, 1_000_000)
"""Limits no bench reaches (the highest an admin may set)."""


@dataclass(frozen=True)
class Limits:
    """A tenant's limits per endpoint, defaults filled in."""

    tenant: dict[str, int]
    client: dict[str, int]

    @classmethod
    def of(cls, configured: Mapping[str, Mapping[str, int]] | None) -> Limits:
        configured = configured or {}
        return cls(
            tenant=dict(DEFAULT_TENANT) | dict(configured.get("tenant", {})),
            client=dict(DEFAULT_CLIENT) | dict(configured.get("client", {})),
        )

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"tenant": self.tenant, "client": self.client}


def read_limits(hub: Hub, tenant: str) -> Limits:
    try:
        found: LtiRateLimits = hub.repository.get(rate_limits_id(tenant))
    except AggregateNotFoundError:
        return Limits.of(None)
    return Limits.of(found.limits)


def set_limits(hub: Hub, tenant: str, given: RateLimitsIn) -> tuple[Limits, int | None]:
    """Record the tenant's limits (`Set`, then `Changed`); the same ones record nothing."""
    wanted = given.model_dump(mode="json")
    try:
        current: LtiRateLimits | None = hub.repository.get(rate_limits_id(tenant))
    except AggregateNotFoundError:
        current = None
    if current is None:
        current = LtiRateLimits(tenant, wanted)
    elif current.limits == wanted:
        return Limits.of(wanted), None
    else:
        current.change(wanted)
    recordings = hub.save(current)
    return Limits.of(wanted), recordings[-1].notification.id


@dataclass
class LtiRateLimiter:
    """The process's windows for the LTI endpoints, and the tenants' limits it has read."""

    windows: SlidingWindowLimiter = field(default_factory=SlidingWindowLimiter)
    known: Known = field(default_factory=lambda: Known(ttl_s=CACHE_TTL_S))

    def cached(self, tenant: str) -> Limits | None:
        """The tenant's limits without a read, or None when they must be read."""
        found: Limits | None = self.known.get(tenant)
        return found

    def load(self, hub: Hub, tenant: str) -> Limits:
        """Read the tenant's limits (blocking: call off the event loop) and keep them."""
        limits = read_limits(hub, tenant)
        self.known.put(tenant, limits)
        return limits

    def forget(self, tenant: str) -> None:
        self.known.put(tenant, None)

    def hit(self, limits: Limits, tenant: str, endpoint: str, client_id: str | None) -> Decision:
        """Count one request; the refusal, if any, of the tenant's window or the client's."""
        decision = self.windows.hit((tenant, endpoint), limits.tenant[endpoint])
        if not decision.allowed or client_id is None:
            return decision
        return self.windows.hit((tenant, endpoint, client_id), limits.client[endpoint])


limiter_for = per_hub(LtiRateLimiter)
"""The process's LTI rate limiter of a hub (shared by the platform's and the tool's routes)."""


async def count(hub: Hub, tenant: str, endpoint: str, client_id: str | None = None) -> Decision:
    """Count one request to `endpoint` (reading the tenant's limits off the loop when the
    cache has none); the answer says whether it may go on and what the headers are."""
    limiter = limiter_for(hub)
    limits = limiter.cached(tenant)
    if limits is None:
        limits = await run_in_threadpool(limiter.load, hub, tenant)
    return limiter.hit(limits, tenant, endpoint, client_id)


def refusal_detail(decision: Decision, endpoint: str) -> str:
    return (
        f"more than {decision.limit} requests a minute to the LTI {endpoint} endpoint;"
        f" try again in {decision.retry_after_s} s"
    )
