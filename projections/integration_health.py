"""Integration health for the operations pages: per tenant and integration, its last
success and last error, its deliveries not yet settled, outcomes per minute (the error
rate of the last hour), and every delivery's state (the dead letters); sync runs.

It follows the delivery logs of the connectors (`DELIVERY_LOGS`) and the hub's log (SIS
connections, Spark connections). An integration is (tenant, kind, name): the kind says
what it is (`KINDS`, by a delivery's connector), the name which one (the origin of the
delivery's target, so each LTI platform or Caliper endpoint is one; a webhook
subscription's id; the SIS connection's name). A new kind of delivery registers itself in
`KINDS` and its application's log in `DELIVERY_LOGS`: the one place where an integration
kind is known. Sync runs are the SIS connections' and the Spark course syncs' (connection
"spark courses", on the tenant's Spark connection's row).

Readers: `integrations(engine)`, `dead_letters(engine)`, `sync_runs(engine)`, each one
query on the live version.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    select,
    update,
)

from hub.domain.base import tenant_of
from infra.sql import upsert
from projections.schema import read_live
from projections.view import HandlerTableProjection, SqlView

NAME = "integration_health"
KINDS: dict[str, str] = {
    "spark-grades": "Spark connection",
    "caliper-http": "Caliper endpoint",
    "lti-ags-scores": "LTI registration",
    "lti-nrps-roster": "LTI registration",
    "email": "Outbox email",
    "webhooks": "Webhook subscription",
}
"""A delivery's connector -> the kind of integration it belongs to."""
SIS = "SIS connector"
COURSE_SYNC = "spark courses"
"""The `connection` of a Spark course sync's run."""
DELIVERY_LOGS: tuple[str, ...] = ("passback", "caliper-http", "ltitool", "outbox", "webhooks")
"""The applications whose logs hold `Delivery` events (connectors.registry.DELIVERY_LOGS)."""
UPSTREAMS = ("hub", *DELIVERY_LOGS)
RETRYING, DELIVERED, DEAD = "retrying", "delivered", "dead-lettered"
KEEP_MINUTES = 120
ERROR_LEN = 500


class IntegrationHealthView(SqlView):
    """`integration_health_*_v<N>`: integrations, outcomes per minute, deliveries, sync runs."""

    projection_name = NAME

    def define_tables(self, metadata: MetaData) -> None:
        def key() -> list[Column[Any]]:
            return [
                Column("tenant", String(64), primary_key=True),
                Column("kind", String(40), primary_key=True),
                Column("name", String(200), primary_key=True),
            ]

        self.integrations = Table(
            self.table_name("integrations"),
            metadata,
            *key(),
            Column("last_success_at", String(40), nullable=True),
            Column("last_error_at", String(40), nullable=True),
            Column("last_error", Text, nullable=False, default=""),
            Column("pending", Integer, nullable=False, default=0),
            Column("dead", Integer, nullable=False, default=0),
        )
        self.outcomes = Table(
            self.table_name("outcomes"),
            metadata,
            *key(),
            Column("minute", String(16), primary_key=True),
            Column("ok", Integer, nullable=False),
            Column("failed", Integer, nullable=False),
        )
        self.deliveries = Table(
            self.table_name("deliveries"),
            metadata,
            Column("delivery_id", String(200), primary_key=True),
            Column("tenant", String(64), nullable=False),
            Column("connector", String(60), nullable=False),
            Column("kind", String(40), nullable=False),
            Column("name", String(200), nullable=False),
            Column("status", String(20), nullable=False),
            Column("attempts", Integer, nullable=False),
            Column("last_status_code", Integer, nullable=True),
            Column("last_error", Text, nullable=False),
            Column("updated_at", String(40), nullable=False),
            Index(f"{self.table_name('deliveries')}_status", "status", "updated_at"),
        )
        self.sync_runs = Table(
            self.table_name("sync_runs"),
            metadata,
            Column("tenant", String(64), primary_key=True),
            Column("connection", String(200), primary_key=True),
            Column("job_id", String(100), primary_key=True),
            Column("mode", String(20), nullable=False),
            Column("outcome", String(20), nullable=False),
            Column("error", Text, nullable=False),
            Column("attempts", Integer, nullable=False),
            Column("stats", Text, nullable=False),
            Column("at", String(40), nullable=False),
            Index(f"{self.table_name('sync_runs')}_at", "at"),
        )
        self.connections = Table(
            self.table_name("connections"),
            metadata,
            Column("aggregate_id", String(200), primary_key=True),
            Column("tenant", String(64), nullable=False),
            Column("name", String(200), nullable=False),
        )


Handler = Callable[[IntegrationHealthView, Connection, Any], None]


def _origin(target: str) -> str:
    parts = urlsplit(target)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else (target[:200] or "-")


def _key(view: IntegrationHealthView, tenant: str, kind: str, name: str) -> Any:
    c = view.integrations.c
    return and_(c.tenant == tenant, c.kind == kind, c.name == name)


def _ensure(
    view: IntegrationHealthView, conn: Connection, tenant: str, kind: str, name: str
) -> None:
    statement = upsert(conn, view.integrations).values(
        tenant=tenant, kind=kind, name=name, last_error="", pending=0, dead=0
    )
    conn.execute(statement.on_conflict_do_nothing())


def _outcome(
    view: IntegrationHealthView, conn: Connection, key: tuple[str, str, str], at: datetime, ok: bool
) -> None:
    """Count one outcome in its minute; forget the integration's minutes past KEEP_MINUTES."""
    tenant, kind, name = key
    minute = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    table = view.outcomes
    statement = upsert(conn, table).values(
        tenant=tenant, kind=kind, name=name, minute=minute, ok=int(ok), failed=int(not ok)
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.tenant, table.c.kind, table.c.name, table.c.minute],
            set_={"ok": table.c.ok + int(ok), "failed": table.c.failed + int(not ok)},
        )
    )
    oldest = (at - timedelta(minutes=KEEP_MINUTES)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    c = table.c
    conn.execute(
        delete(table).where(c.tenant == tenant, c.kind == kind, c.name == name, c.minute < oldest)
    )
    values: dict[str, Any] = (
        {"last_success_at": at.isoformat()} if ok else {"last_error_at": at.isoformat()}
    )
    conn.execute(update(view.integrations).where(_key(view, *key)).values(**values))


def _counts(
    view: IntegrationHealthView, conn: Connection, key: tuple[str, str, str], was: str, now: str
) -> None:
    """Move one delivery between statuses in its integration's pending and dead counts."""
    delta = {"pending": 0, "dead": 0}
    for status, sign in ((was, -1), (now, 1)):
        if status == RETRYING:
            delta["pending"] += sign
        elif status == DEAD:
            delta["dead"] += sign
    c = view.integrations.c
    conn.execute(
        update(view.integrations)
        .where(_key(view, *key))
        .values(pending=c.pending + delta["pending"], dead=c.dead + delta["dead"])
    )


def _name(kind: str, event: Any) -> str:
    """Which integration of its kind a delivery belongs to (a webhook's: its subscription)."""
    if kind == KINDS["email"]:
        return "email"
    if kind == KINDS["webhooks"]:
        return str((event.payload or {}).get("subscription_id") or _origin(event.target))[:200]
    return _origin(event.target)


def _scheduled(view: IntegrationHealthView, conn: Connection, event: Any) -> None:
    tenant = tenant_of(event.originator_id)
    kind = KINDS.get(event.connector, event.connector[:40])
    name = _name(kind, event)
    _ensure(view, conn, tenant, kind, name)
    conn.execute(
        upsert(conn, view.deliveries)
        .values(
            delivery_id=event.originator_id,
            tenant=tenant,
            connector=event.connector,
            kind=kind,
            name=name,
            status=RETRYING,
            attempts=0,
            last_status_code=None,
            last_error="",
            updated_at=event.timestamp.isoformat(),
        )
        .on_conflict_do_nothing()
    )
    _counts(view, conn, (tenant, kind, name), "", RETRYING)


def _delivery(view: IntegrationHealthView, conn: Connection, event: Any) -> Any:
    table = view.deliveries
    return conn.execute(
        select(table.c.tenant, table.c.kind, table.c.name, table.c.status).where(
            table.c.delivery_id == event.originator_id
        )
    ).first()


def _attempted(view: IntegrationHealthView, conn: Connection, event: Any) -> None:
    found = _delivery(view, conn, event)
    if found is None:
        return
    key = (found.tenant, found.kind, found.name)
    error = (event.error or "")[:ERROR_LEN]
    conn.execute(
        update(view.deliveries)
        .where(view.deliveries.c.delivery_id == event.originator_id)
        .values(
            status=event.outcome,
            attempts=view.deliveries.c.attempts + 1,
            last_status_code=event.status_code,
            last_error=error,
            updated_at=event.timestamp.isoformat(),
        )
    )
    _counts(view, conn, key, found.status, event.outcome)
    ok = event.outcome == DELIVERED
    _outcome(view, conn, key, event.timestamp, ok)
    if not ok:
        code = f"HTTP {event.status_code}: " if event.status_code else ""
        conn.execute(
            update(view.integrations).where(_key(view, *key)).values(last_error=code + error)
        )


def _redriven(view: IntegrationHealthView, conn: Connection, event: Any) -> None:
    found = _delivery(view, conn, event)
    if found is None:
        return
    conn.execute(
        update(view.deliveries)
        .where(view.deliveries.c.delivery_id == event.originator_id)
        .values(status=RETRYING, updated_at=event.timestamp.isoformat())
    )
    _counts(view, conn, (found.tenant, found.kind, found.name), found.status, RETRYING)


def _sis_registered(view: IntegrationHealthView, conn: Connection, event: Any) -> None:
    tenant, name = tenant_of(event.originator_id), str(event.name)[:200]
    _ensure(view, conn, tenant, SIS, name)
    statement = upsert(conn, view.connections).values(
        aggregate_id=event.originator_id, tenant=tenant, name=name
    )
    conn.execute(statement.on_conflict_do_nothing())


def _spark_connected(view: IntegrationHealthView, conn: Connection, event: Any) -> None:
    _ensure(view, conn, tenant_of(event.originator_id), KINDS["spark-grades"], "spark")


def _sync_run(
    view: IntegrationHealthView,
    conn: Connection,
    key: tuple[str, str, str],
    event: Any,
    *,
    connection: str,
    mode: str,
    ok: bool,
    stats: Any,
) -> None:
    """One sync run in `sync_runs`, counted as an outcome of the integration `key`."""
    tenant = key[0]
    error = "" if ok else str(event.error)[:ERROR_LEN]
    conn.execute(
        upsert(conn, view.sync_runs)
        .values(
            tenant=tenant,
            connection=connection,
            job_id=str(event.job_id)[:100],
            mode=mode[:20],
            outcome="succeeded" if ok else "failed",
            error=error,
            attempts=getattr(event, "attempts", 1),
            stats=json.dumps(stats or {}, separators=(",", ":")),
            at=event.timestamp.isoformat(),
        )
        .on_conflict_do_nothing()
    )
    _outcome(view, conn, key, event.timestamp, ok)
    if not ok:
        conn.execute(update(view.integrations).where(_key(view, *key)).values(last_error=error))


def _sis_sync(ok: bool) -> Handler:
    def handle(view: IntegrationHealthView, conn: Connection, event: Any) -> None:
        table = view.connections
        name = conn.execute(
            select(table.c.name).where(table.c.aggregate_id == event.originator_id)
        ).scalar()
        if name is None:
            return
        key = (tenant_of(event.originator_id), SIS, name)
        stats = getattr(event, "stats", None)
        _sync_run(view, conn, key, event, connection=name, mode=str(event.mode), ok=ok, stats=stats)

    return handle


def _course_sync(ok: bool) -> Handler:
    def handle(view: IntegrationHealthView, conn: Connection, event: Any) -> None:
        key = (tenant_of(event.originator_id), KINDS["spark-grades"], "spark")
        _ensure(view, conn, *key)
        stats = getattr(event, "stats", None)
        _sync_run(
            view, conn, key, event, connection=COURSE_SYNC, mode="courses", ok=ok, stats=stats
        )

    return handle


HANDLERS: dict[str, Handler] = {
    "Delivery.Scheduled": _scheduled,
    "Delivery.Attempted": _attempted,
    "Delivery.Redriven": _redriven,
    "SisConnection.Registered": _sis_registered,
    "SisConnection.SyncSucceeded": _sis_sync(ok=True),
    "SisConnection.SyncFailed": _sis_sync(ok=False),
    "SparkConnection.Connected": _spark_connected,
    "SparkConnection.CourseSyncSucceeded": _course_sync(ok=True),
    "SparkConnection.CourseSyncFailed": _course_sync(ok=False),
}


class IntegrationHealthProjection(HandlerTableProjection[IntegrationHealthView]):
    """Every notification moves the position; the events in `HANDLERS` change rows too."""

    name = NAME
    topics = ()
    handlers = HANDLERS


# Readers: one query each, on the live version.


@dataclass(frozen=True)
class IntegrationHealth:
    tenant: str
    kind: str
    name: str
    last_success_at: str | None
    last_error_at: str | None
    last_error: str
    pending: int
    dead: int
    ok_last_hour: int
    failed_last_hour: int

    @property
    def error_rate(self) -> float | None:
        """Failed outcomes over all outcomes of the last hour; None without any."""
        total = self.ok_last_hour + self.failed_last_hour
        return None if total == 0 else self.failed_last_hour / total


@dataclass(frozen=True)
class DeadLetter:
    delivery_id: str
    tenant: str
    connector: str
    kind: str
    name: str
    attempts: int
    last_status_code: int | None
    last_error: str
    updated_at: str


@dataclass(frozen=True)
class SyncRun:
    tenant: str
    connection: str
    job_id: str
    mode: str
    outcome: str
    error: str
    attempts: int
    stats: str
    at: str


@lru_cache(maxsize=32)
def _view(engine: Engine, version: int) -> IntegrationHealthView:
    return IntegrationHealthView(engine, version)


def integrations(engine: Engine, now: datetime | None = None) -> list[IntegrationHealth]:
    """Every integration of every tenant with its outcomes of the hour before `now`."""
    since = ((now or datetime.now(UTC)) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    def read(conn: Connection, version: int) -> list[IntegrationHealth]:
        view = _view(conn.engine, version)
        i, o = view.integrations.c, view.outcomes.c
        hour = (
            select(
                o.tenant,
                o.kind,
                o.name,
                func.sum(o.ok).label("ok"),
                func.sum(o.failed).label("failed"),
            )
            .where(o.minute >= since)
            .group_by(o.tenant, o.kind, o.name)
            .subquery()
        )
        joined = view.integrations.outerjoin(
            hour, and_(hour.c.tenant == i.tenant, hour.c.kind == i.kind, hour.c.name == i.name)
        )
        rows = conn.execute(
            select(
                i.tenant,
                i.kind,
                i.name,
                i.last_success_at,
                i.last_error_at,
                i.last_error,
                i.pending,
                i.dead,
                func.coalesce(hour.c.ok, 0),
                func.coalesce(hour.c.failed, 0),
            )
            .select_from(joined)
            .order_by(i.tenant, i.kind, i.name)
        )
        return [IntegrationHealth(*row[:8], int(row[8]), int(row[9])) for row in rows]

    return read_live(engine, NAME, read, missing=[])


def dead_letters(engine: Engine, limit: int = 500) -> list[DeadLetter]:
    """The dead-lettered deliveries, the latest first."""

    def read(conn: Connection, version: int) -> list[DeadLetter]:
        d = _view(conn.engine, version).deliveries.c
        rows = conn.execute(
            select(
                d.delivery_id,
                d.tenant,
                d.connector,
                d.kind,
                d.name,
                d.attempts,
                d.last_status_code,
                d.last_error,
                d.updated_at,
            )
            .where(d.status == DEAD)
            .order_by(d.updated_at.desc(), d.delivery_id)
            .limit(limit)
        )
        return [DeadLetter(*row) for row in rows]

    return read_live(engine, NAME, read, missing=[])


def sync_runs(engine: Engine, limit: int = 100) -> list[SyncRun]:
    """The latest sync runs (SIS, Spark courses) of every tenant, the latest first."""

    def read(conn: Connection, version: int) -> list[SyncRun]:
        table = _view(conn.engine, version).sync_runs
        rows = conn.execute(select(table).order_by(table.c.at.desc()).limit(limit))
        return [SyncRun(*row) for row in rows]

    return read_live(engine, NAME, read, missing=[])


def delivery_counts(engine: Engine) -> list[tuple[str, str, int]]:
    """(connector, status, deliveries) of every connector, for the metrics."""

    def read(conn: Connection, version: int) -> list[tuple[str, str, int]]:
        d = _view(conn.engine, version).deliveries.c
        rows = conn.execute(
            select(d.connector, d.status, func.count())
            .group_by(d.connector, d.status)
            .order_by(d.connector, d.status)
        )
        return [(row[0], row[1], int(row[2])) for row in rows]

    return read_live(engine, NAME, read, missing=[])
