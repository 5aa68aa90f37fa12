"""Outbound deliveries (grade passback, Caliper, webhooks): every attempt is an event."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id

DELIVERED = "delivered"
RETRYING = "retrying"
DEAD = "dead-lettered"


def delivery_id(tenant: str, connector: str, key: str) -> str:
    return aggregate_id(tenant, "Delivery", connector, key)


class DeliveryStateError(Exception):
    """Raised for an attempt on a delivery that is not pending (delivered or dead)."""


class Delivery(HubAggregate):
    """One payload to one target, attempted until delivered or dead-lettered."""

    @staticmethod
    def create_id(tenant: str, connector: str, key: str, **_: object) -> str:
        return delivery_id(tenant, connector, key)

    @event("Scheduled")
    def __init__(
        self,
        tenant: str,
        connector: str,
        key: str,
        target: str,
        payload: dict[str, Any],
        caused_by: str,
    ) -> None:
        self.connector = connector
        self.target = target
        self.payload = payload
        self.status = RETRYING
        self.attempts = 0
        self.next_attempt_at: str | None = None

    def check_pending(self) -> None:
        if self.status != RETRYING:
            msg = f"delivery is {self.status}"
            raise DeliveryStateError(msg)

    @event("Attempted")
    def record_attempt(
        self,
        outcome: str,
        status_code: int | None,
        error: str,
        next_attempt_at: str | None,
        duration_ms: float | None = None,
    ) -> None:
        """`outcome` is delivered, retrying (with `next_attempt_at`) or dead-lettered;
        `duration_ms` how long the attempt took (absent from events stored before it)."""
        self.attempts += 1
        self.status = outcome
        self.next_attempt_at = next_attempt_at

    @event("Redriven")
    def redrive(self, by: str) -> None:
        self.status = RETRYING
        self.next_attempt_at = None
