"""Caliper delivery status for admins: each batch delivery, and counts per tenant and status.

It follows the `caliper-http` log (the HTTP delivery connector's): `Delivery.Scheduled`
adds a row (events, stream range, target), `Delivery.Attempted` moves its status,
attempts, last answer and next attempt, `Delivery.Redriven` re-arms it. Events are
recognised by their class's qualified name, as the portfolio does.

Reader: `delivery_report(engine, tenant, status=None, limit=100)`: counts per status
and the newest deliveries, read in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    update,
)

from hub.domain.base import tenant_of
from projections.schema import read_live
from projections.view import HandlerTableProjection, SqlView

NAME = "caliper_deliveries"
UPSTREAMS = ("caliper-http",)


class CaliperDeliveriesView(SqlView):
    """`caliper_deliveries_v<N>`: one row per delivery (a batch of envelopes)."""

    projection_name = NAME

    def define_tables(self, metadata: MetaData) -> None:
        self.deliveries = Table(
            self.table_name(),
            metadata,
            Column("tenant", String(64), primary_key=True),
            Column("delivery_id", String(200), primary_key=True),
            Column("target", Text, nullable=False),
            Column("events", Integer, nullable=False),
            Column("first_seq", BigInteger, nullable=False),
            Column("last_seq", BigInteger, nullable=False),
            Column("status", String(20), nullable=False),
            Column("attempts", Integer, nullable=False),
            Column("last_status_code", Integer, nullable=True),
            Column("last_error", Text, nullable=False),
            Column("next_attempt_at", String(40), nullable=True),
            Column("scheduled_at", String(40), nullable=False),
            Column("updated_at", String(40), nullable=False),
        )

    def where(self, event: Any) -> Any:
        c = self.deliveries.c
        return (c.tenant == tenant_of(event.originator_id)) & (c.delivery_id == event.originator_id)


Handler = Callable[[CaliperDeliveriesView, Connection, Any], None]


def _scheduled(view: CaliperDeliveriesView, conn: Connection, event: Any) -> None:
    payload = event.payload
    at = event.timestamp.isoformat()
    conn.execute(
        view.deliveries.insert().values(
            tenant=tenant_of(event.originator_id),
            delivery_id=event.originator_id,
            target=event.target,
            events=int(payload.get("count", 0)),
            first_seq=int(payload.get("first_seq", 0)),
            last_seq=int(payload.get("last_seq", 0)),
            status="retrying",
            attempts=0,
            last_status_code=None,
            last_error="",
            next_attempt_at=None,
            scheduled_at=at,
            updated_at=at,
        )
    )


def _attempted(view: CaliperDeliveriesView, conn: Connection, event: Any) -> None:
    conn.execute(
        update(view.deliveries)
        .where(view.where(event))
        .values(
            status=event.outcome,
            attempts=view.deliveries.c.attempts + 1,
            last_status_code=event.status_code,
            last_error=event.error,
            next_attempt_at=event.next_attempt_at,
            updated_at=event.timestamp.isoformat(),
        )
    )


def _redriven(view: CaliperDeliveriesView, conn: Connection, event: Any) -> None:
    conn.execute(
        update(view.deliveries)
        .where(view.where(event))
        .values(status="retrying", next_attempt_at=None, updated_at=event.timestamp.isoformat())
    )


HANDLERS: dict[str, Handler] = {
    "Delivery.Scheduled": _scheduled,
    "Delivery.Attempted": _attempted,
    "Delivery.Redriven": _redriven,
}


class CaliperDeliveriesProjection(HandlerTableProjection[CaliperDeliveriesView]):
    """Every notification moves the position; delivery events change rows too."""

    name = NAME
    topics = ()
    handlers = HANDLERS


# Readers: every query takes the tenant.


@dataclass(frozen=True)
class DeliveryStatus:
    delivery_id: str
    target: str
    events: int
    first_seq: int
    last_seq: int
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str
    next_attempt_at: str | None
    scheduled_at: str
    updated_at: str


@lru_cache(maxsize=32)
def _view(engine: Engine, version: int) -> CaliperDeliveriesView:
    return CaliperDeliveriesView(engine, version)


def _rows(
    conn: Connection, version: int, tenant: str, status: str | None, limit: int
) -> list[DeliveryStatus]:
    table = _view(conn.engine, version).deliveries
    query = select(table).where(table.c.tenant == tenant)
    if status is not None:
        query = query.where(table.c.status == status)
    rows = conn.execute(query.order_by(table.c.first_seq.desc()).limit(limit))
    return [DeliveryStatus(*row[1:]) for row in rows]


def _summary(conn: Connection, version: int, tenant: str) -> dict[str, dict[str, int]]:
    table = _view(conn.engine, version).deliveries
    rows = conn.execute(
        select(table.c.status, func.count(), func.coalesce(func.sum(table.c.events), 0))
        .where(table.c.tenant == tenant)
        .group_by(table.c.status)
        .order_by(table.c.status)
    )
    return {row[0]: {"deliveries": int(row[1]), "events": int(row[2])} for row in rows}


DeliveryReport = tuple[dict[str, dict[str, int]], list[DeliveryStatus]]


def delivery_report(
    engine: Engine, tenant: str, *, status: str | None = None, limit: int = 100
) -> DeliveryReport:
    """The summary and the newest deliveries, read together (they agree)."""

    def read(conn: Connection, version: int) -> DeliveryReport:
        return _summary(conn, version, tenant), _rows(conn, version, tenant, status, limit)

    nothing: DeliveryReport = ({}, [])
    return read_live(engine, NAME, read, missing=nothing)
