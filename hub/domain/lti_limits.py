"""A tenant's LTI rate limits (requests per minute per endpoint), set by an admin."""

from __future__ import annotations

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id


def rate_limits_id(tenant: str) -> str:
    return aggregate_id(tenant, "LtiRateLimits", "lti")


class LtiRateLimits(HubAggregate):
    """`tenant` and `client` map an endpoint name to its limit; a missing one is the default."""

    @staticmethod
    def create_id(tenant: str, **_: object) -> str:
        return rate_limits_id(tenant)

    @event("Set")
    def __init__(self, tenant: str, limits: dict[str, dict[str, int]]) -> None:
        self.limits = limits

    @event("Changed")
    def change(self, limits: dict[str, dict[str, int]]) -> None:
        self.limits = limits
