"""Course sync: Spark courses and assignments become quests and tasks, recorded only on change.

A run (`sync_tenant`: the daily schedule, `hub spark sync`, the admin API) is recorded on
the tenant's `SparkConnection`, as a SIS job is: `CourseSyncSucceeded` (started, finished,
counts) when it changed something, `CourseSyncFailed` (started, finished, error) when it
failed; a dry run, or a run that changed nothing, records nothing. The operations sync
page shows them (`projections.integration_health`).

Errors (besides `SparkApiError` from the client, raised before anything is written):

    CourseSyncError
     ├── UnknownTenantError       no tenant has that slug
     ├── SparkNotConnectedError   the tenant has no Spark connection
     └── SyncConflictError        another writer changed a quest or task meanwhile; run again
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import uuid4

import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError
from pydantic import BaseModel, Field

from connectors.spark_api import (
    SparkApi,
    SparkApiError,
    SparkClients,
    spark_connection,
)
from hub.domain.base import EventContext, HubAggregate, event_context
from hub.domain.quests import Quest, Task, quest_id, task_id
from hub.domain.rules import calculate_xp, detect_pillar
from hub.domain.spark import SparkConnection, spark_connection_id
from hub.domain.tenants import tenant_id
from hub.tenants import tenants_having
from schemas.spark import SparkAssignment, SparkCourse

SOURCE = "spark"
# One commit per course (its quest and tasks together), split past this many aggregates so
# that an atomic batch stays well inside the server's limit.
MAX_AGGREGATES_PER_COMMIT = 200
RECORD_TRIES = 3
ERROR_LEN = 2000
log = structlog.get_logger(__name__)


class CourseSyncError(Exception):
    """Base of the course sync's own errors."""


class UnknownTenantError(CourseSyncError):
    """Raised when no tenant has the slug asked for."""


class SparkNotConnectedError(CourseSyncError):
    """Raised when the tenant has no Spark connection to sync from."""


class SyncConflictError(CourseSyncError):
    """Raised when a quest or task changed while the sync was writing it; run it again."""


class Change(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class ItemReport(BaseModel):
    spark_id: str
    title: str
    change: Change
    changed_fields: list[str] = Field(default_factory=list)


class KindReport(BaseModel):
    """Counts of one kind (quests or tasks), and each item with its title."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    items: list[ItemReport] = Field(default_factory=list)

    def add(self, item: ItemReport) -> None:
        setattr(self, item.change.value, getattr(self, item.change.value) + 1)
        self.items.append(item)


class SyncReport(BaseModel):
    """What a sync did, or with `dry_run` what it would do; `position` is the last write's."""

    tenant: str
    dry_run: bool
    quests: KindReport = Field(default_factory=KindReport)
    tasks: KindReport = Field(default_factory=KindReport)
    position: int | None = None

    def lines(self) -> Iterator[str]:
        """The report as a person reads it (`hub spark sync`)."""
        verb = "would sync" if self.dry_run else "synced"
        yield f"{self.tenant}: {verb} quests {_counts(self.quests)}; tasks {_counts(self.tasks)}"
        for label, kind in (("quest", self.quests), ("task", self.tasks)):
            for item in kind.items:
                if item.change is not Change.UNCHANGED:
                    fields = f" ({', '.join(item.changed_fields)})" if item.changed_fields else ""
                    yield f"  {item.change.value:<9} {label} {item.spark_id}: {item.title}{fields}"


def _run_context() -> EventContext:
    run_id = uuid4().hex
    return EventContext(
        correlation_id=run_id,
        causation_id=run_id,
        source="spark:course-sync",
        verified_by="api-key",
    )


def _counts(kind: KindReport) -> str:
    return f"{kind.created} created, {kind.updated} updated, {kind.unchanged} unchanged"


def quest_details(course: SparkCourse, assignments: Sequence[SparkAssignment]) -> dict[str, Any]:
    return {
        "title": course.title,
        "description": course.description,
        "category": course.category,
        "grade_level": course.grade_level,
        "duration_hours": course.duration_hours,
        "assignment_ids": [a.id for a in assignments],
    }


def task_details(course: SparkCourse, assignment: SparkAssignment, order: int) -> dict[str, Any]:
    details: dict[str, Any] = {
        "title": assignment.title,
        "description": assignment.description,
        "assignment_type": assignment.assignment_type,
        "estimated_hours": assignment.estimated_hours,
        "max_points": assignment.max_points,
        "order": order,
        "required": True,
        "pillar": detect_pillar(assignment.title, assignment.assignment_type).value,
        "xp": calculate_xp(assignment.estimated_hours),
        "course_id": course.id,
    }
    if assignment.due_at is not None:
        details["due_at"] = assignment.due_at.isoformat()
    return details


def _changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))


@dataclass
class _Plan:
    report: SyncReport
    commits: list[list[HubAggregate]] = field(default_factory=list)


class _Planner:
    """Compares what Spark serves with what the hub recorded; changes aggregates in memory."""

    def __init__(self, hub: Application[str], tenant: str, report: SyncReport) -> None:
        self.hub = hub
        self.tenant = tenant
        self.report = report
        self.seen_assignments: set[str] = set()
        self.changed: list[HubAggregate] = []

    def _get(self, aggregate_id: str) -> Any:
        try:
            return self.hub.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def course(self, course: SparkCourse, assignments: list[SparkAssignment]) -> list[HubAggregate]:
        # An assignment listed under two courses belongs to the first: otherwise each sync
        # would move it back and forth and record an update every time.
        own = [a for a in assignments if a.id not in self.seen_assignments]
        self.seen_assignments.update(a.id for a in own)
        self.changed = []
        quest = self._sync(
            Quest,
            quest_id(self.tenant, SOURCE, course.id),
            course.id,
            quest_details(course, own),
            self.report.quests,
        )
        for order, assignment in enumerate(own, start=1):
            self._sync(
                Task,
                task_id(self.tenant, SOURCE, assignment.id),
                assignment.id,
                task_details(course, assignment, order),
                self.report.tasks,
                quest_id=quest.id,
            )
        return self.changed

    def _sync(
        self,
        cls: type[Quest | Task],
        aggregate_id: str,
        spark_id: str,
        details: dict[str, Any],
        kind: KindReport,
        **extra: str,
    ) -> HubAggregate:
        existing = self._get(aggregate_id)
        title = str(details["title"])
        if existing is None:
            made: HubAggregate = cls(
                tenant=self.tenant, source=SOURCE, external_id=spark_id, details=details, **extra
            )
            self.changed.append(made)
            kind.add(ItemReport(spark_id=spark_id, title=title, change=Change.CREATED))
            return made
        fields = _changed_fields(existing.details, details)
        if fields:
            existing.update(details)
            self.changed.append(existing)
            kind.add(
                ItemReport(
                    spark_id=spark_id, title=title, change=Change.UPDATED, changed_fields=fields
                )
            )
        else:
            kind.add(ItemReport(spark_id=spark_id, title=title, change=Change.UNCHANGED))
        return existing  # type: ignore[no-any-return]


def plan_sync(hub: Application[str], api: SparkApi, tenant: str, *, dry_run: bool) -> _Plan:
    """Read everything from Spark first (a failure there writes nothing), then compare."""
    courses = api.list_courses()
    fetched = [(course, api.list_assignments(course.id)) for course in courses]
    plan = _Plan(SyncReport(tenant=tenant, dry_run=dry_run))
    planner = _Planner(hub, tenant, plan.report)
    for course, assignments in fetched:
        changed = planner.course(course, assignments)
        for start in range(0, len(changed), MAX_AGGREGATES_PER_COMMIT):
            plan.commits.append(changed[start : start + MAX_AGGREGATES_PER_COMMIT])
    return plan


def sync_courses(
    hub: Application[str],
    api: SparkApi,
    tenant: str,
    *,
    dry_run: bool = False,
    context: EventContext | None = None,
) -> SyncReport:
    """Create or update the tenant's Spark quests and tasks; record nothing that is unchanged.

    A dry run reads and compares the same way and records nothing.
    """
    plan = plan_sync(hub, api, tenant, dry_run=dry_run)
    if not dry_run and plan.commits:
        with event_context(context or _run_context()):
            for aggregates in plan.commits:
                try:
                    recordings = hub.save(*aggregates)
                except IntegrityError as error:
                    msg = f"a quest or task of {tenant} changed during the sync; run it again"
                    raise SyncConflictError(msg) from error
                if recordings:
                    plan.report.position = recordings[-1].notification.id
    report = plan.report
    log.info(
        "course_sync.done",
        tenant_id=tenant,
        dry_run=dry_run,
        quests=_figures(report.quests),
        tasks=_figures(report.tasks),
        position=report.position,
    )
    return report


def connection_of(hub: Application[str], tenant: str) -> SparkConnection:
    """The tenant's Spark connection; raises if the tenant or its connection is unknown."""
    try:
        hub.repository.get(tenant_id(tenant))
    except (AggregateNotFoundError, ValueError) as error:
        msg = f"no tenant {tenant!r} is registered"
        raise UnknownTenantError(msg) from error
    connection = spark_connection(hub, tenant)
    if connection is None:
        msg = f"tenant {tenant!r} has no Spark connection; connect it first (hub spark connect)"
        raise SparkNotConnectedError(msg)
    return connection


def sync_tenant(
    hub: Application[str],
    clients: SparkClients,
    tenant: str,
    *,
    dry_run: bool = False,
    context: EventContext | None = None,
) -> SyncReport:
    """Sync one tenant with the client its connection gives. Its run is recorded on the
    connection: `CourseSyncSucceeded` with its counts when it changed something,
    `CourseSyncFailed` with its error (raised again); a dry run records nothing."""
    connection = connection_of(hub, tenant)
    if dry_run:
        with clients.open(connection) as api:
            return sync_courses(hub, api, tenant, dry_run=True, context=context)
    context = context or _run_context()
    run = _Run(hub, tenant, context)
    try:
        with clients.open(connection) as api:
            report = sync_courses(hub, api, tenant, context=context)
    except (SparkApiError, CourseSyncError) as error:
        run.record(error=str(error) or type(error).__name__)
        raise
    if report.position is not None:  # as a SIS job: a run that changed nothing records nothing
        stats = {"quests": _figures(report.quests), "tasks": _figures(report.tasks)}
        report.position = run.record(stats=stats) or report.position  # the last write's
    return report


def _figures(kind: KindReport) -> dict[str, int]:
    return kind.model_dump(exclude={"items"})


@dataclass
class _Run:
    """One course sync run, recorded on the tenant's Spark connection when it ends."""

    hub: Application[str]
    tenant: str
    context: EventContext
    job_id: str = field(default_factory=lambda: uuid4().hex)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def record(
        self, *, stats: dict[str, dict[str, int]] | None = None, error: str | None = None
    ) -> int | None:
        """Saved again on a conflict (the connection changed meanwhile), a few times; the
        run event's position, None if it could not be saved."""
        finished_at = datetime.now(UTC).isoformat()
        for _ in range(RECORD_TRIES):
            connection: SparkConnection = self.hub.repository.get(spark_connection_id(self.tenant))
            with event_context(self.context):
                if error is None:
                    connection.course_sync_succeeded(
                        self.job_id, self.started_at, finished_at, stats or {}
                    )
                else:
                    connection.course_sync_failed(
                        self.job_id, self.started_at, finished_at, error[:ERROR_LEN]
                    )
            try:
                recordings = self.hub.save(connection)
            except IntegrityError:
                continue
            return recordings[-1].notification.id if recordings else None
        log.warning("course_sync.run_not_recorded", tenant_id=self.tenant, job_id=self.job_id)
        return None


def connected_tenants(hub: Application[str]) -> list[str]:
    """Every tenant with a Spark connection."""
    return tenants_having(hub, "SparkConnection", SparkConnection.Connected)  # type: ignore[attr-defined]
