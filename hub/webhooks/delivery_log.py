"""A subscription's delivery log, read from the `webhooks` log: each delivery and its attempts.

The deliveries' events are read by subject (the tenant's `Delivery` aggregates of the
`webhooks` application), so one tenant's log is read, not everybody's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.domain.deliveries import DEAD, RETRYING
from hub.replay import ReplayFilter, replay
from infra.nats_client import NatsConnection

WEBHOOKS_APP = "webhooks"  # the connector's application (connectors.webhooks.NAME)


@dataclass
class Attempt:
    at: str
    outcome: str
    status_code: int | None
    duration_ms: float | None
    error: str


@dataclass
class DeliveryRecord:
    """One delivery of one event to one subscription, with every attempt so far."""

    delivery_id: str
    event_id: str
    event_type: str
    position: int | None
    scheduled_at: str
    status: str = RETRYING
    next_attempt_at: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    redriven_at: list[str] = field(default_factory=list)


def _moment(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _apply(
    found: dict[str, DeliveryRecord], subscription_id: str, record: Mapping[str, Any]
) -> None:
    data, name = record["data"], record["event_type"]
    at = _moment(data.get("timestamp", record["recorded_at"]))
    if name == "Delivery.Scheduled":
        payload = data.get("payload") or {}
        if payload.get("subscription_id") == subscription_id:
            found[record["aggregate_id"]] = DeliveryRecord(
                delivery_id=record["aggregate_id"],
                event_id=str(payload.get("event_id")),
                event_type=str(payload.get("event_type")),
                position=payload.get("position"),
                scheduled_at=at,
            )
        return
    delivery = found.get(record["aggregate_id"])
    if delivery is None:
        return
    if name == "Delivery.Attempted":
        delivery.status = str(data["outcome"])
        delivery.next_attempt_at = data.get("next_attempt_at")
        delivery.attempts.append(
            Attempt(
                at=at,
                outcome=delivery.status,
                status_code=data.get("status_code"),
                duration_ms=data.get("duration_ms"),
                error=str(data.get("error") or ""),
            )
        )
    elif name == "Delivery.Redriven":
        delivery.status, delivery.next_attempt_at = RETRYING, None
        delivery.redriven_at.append(at)


def delivery_records(
    records: Iterable[Mapping[str, Any]], subscription_id: str
) -> list[DeliveryRecord]:
    """The deliveries of `subscription_id` from the `webhooks` log's records, newest first."""
    found: dict[str, DeliveryRecord] = {}
    for record in records:
        _apply(found, subscription_id, record)
    return sorted(found.values(), key=lambda d: (d.scheduled_at, d.delivery_id), reverse=True)


def read_deliveries(
    nats_url: str, stream_prefix: str, tenant: str, subscription_id: str
) -> list[DeliveryRecord]:
    """The subscription's deliveries, newest first."""
    wanted = ReplayFilter(tenant=tenant, app=WEBHOOKS_APP, aggregate_type="Delivery")
    records = replay(NatsConnection.shared(nats_url), stream_prefix, wanted)
    return delivery_records(records, subscription_id)


def dead_ids(deliveries: Iterable[DeliveryRecord]) -> list[str]:
    return [d.delivery_id for d in deliveries if d.status == DEAD]
