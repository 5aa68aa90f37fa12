"""Event counts per tenant and event type, with the last one's position: the first read model."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from sqlalchemy import BigInteger, Column, Connection, Engine, MetaData, String, Table, select

from hub.domain.base import tenant_of
from infra.sql import upsert
from projections.schema import read_live
from projections.view import SqlView

NAME = "event_counts"

EventCount = tuple[str, int, int]
"""(event type, count, last position)"""


class EventCountsView(SqlView):
    """`event_counts_v<N>`: one row per tenant and event type."""

    projection_name = NAME

    def define_tables(self, metadata: MetaData) -> None:
        self.counts = Table(
            self.table_name(),
            metadata,
            Column("tenant", String(64), primary_key=True),
            Column("event_type", String(200), primary_key=True),
            Column("count", BigInteger, nullable=False),
            Column("last_position", BigInteger, nullable=False),
        )

    def count_event(self, tenant: str, event_type: str, tracking: Tracking) -> None:
        with self.changing(tracking) as conn:
            statement = upsert(conn, self.counts).values(
                tenant=tenant,
                event_type=event_type,
                count=1,
                last_position=tracking.notification_id,
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[self.counts.c.tenant, self.counts.c.event_type],
                    set_={
                        "count": self.counts.c.count + 1,
                        "last_position": statement.excluded.last_position,
                    },
                )
            )


class EventCountsProjection(Projection[EventCountsView]):
    """Counts every event of the log by its tenant and its class name (`Tenant.Registered`)."""

    name = NAME
    topics = ()

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.count_event(
            tenant_of(str(domain_event.originator_id)), type(domain_event).__qualname__, tracking
        )


@lru_cache(maxsize=32)
def _view(engine: Engine, version: int) -> EventCountsView:
    """One view object per version, so SQLAlchemy reuses its compiled statements."""
    return EventCountsView(engine, version)


def counts(engine: Engine, tenant: str) -> list[EventCount]:
    """The live counts of `tenant`: (event type, count, last position), by event type."""

    def read(conn: Connection, version: int) -> list[EventCount]:
        table = _view(conn.engine, version).counts
        rows = conn.execute(
            select(table.c.event_type, table.c.count, table.c.last_position)
            .where(table.c.tenant == tenant)
            .order_by(table.c.event_type)
        )
        return [(row[0], row[1], row[2]) for row in rows]

    return read_live(engine, NAME, read, missing=[])


def all_counts(engine: Engine) -> list[tuple[str, str, int, int]]:
    """Every live row: (tenant, event type, count, last position), in key order."""

    def read(conn: Connection, version: int) -> list[tuple[str, str, int, int]]:
        table = _view(conn.engine, version).counts
        rows = conn.execute(select(table).order_by(table.c.tenant, table.c.event_type))
        return [(row[0], row[1], row[2], row[3]) for row in rows]

    return read_live(engine, NAME, read, missing=[])
