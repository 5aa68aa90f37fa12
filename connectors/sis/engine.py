"""The sync engine: one job of one SIS connection, from fetch to recorded batches.

1. the connection's connector checks its configuration (a problem fails the job);
2. it fetches a delta since the last cursor when it can, else a snapshot, retrying a
   source that is unavailable five times with exponential backoff;
3. the bundle is checked and diffed against the roster like any import
   (`hub.roster.importer`): a dry run reports, a commit records batches of 500;
   bad rows are reported and the good ones applied (partial failure); unchanged
   rows record nothing, through the id map and checksums;
4. the job is recorded on the `SisConnection`: `SyncSucceeded` (with the import, its
   figures and the new cursor) when it changed something or moved the cursor,
   `SyncFailed` when it failed. A job that found nothing new records nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import structlog

from connectors.runner import Backoff
from connectors.sis.contract import Fetched, SisConfigError, SisConnector, SisUnavailableError
from hub.application import Hub
from hub.domain.base import EventContext, event_context
from hub.domain.roster import SisConnection, sis_connection_id
from hub.roster.commands import import_rows
from hub.roster.errors import RosterError
from hub.roster.importer import ImportReport
from hub.roster.log import Rosters
from hub.roster.ports import RosterReadModel

ATTEMPTS = 5
BACKOFF = Backoff(initial=1.0, maximum=60.0)
log = structlog.get_logger(__name__)

ConnectorFor = Callable[[SisConnection], SisConnector]


@dataclass
class SyncJob:
    """What one job did."""

    job_id: str
    tenant: str
    name: str
    dry_run: bool
    mode: str = "snapshot"
    attempts: int = 0
    cursor: str | None = None
    error: str | None = None
    report: ImportReport | None = None
    recorded: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> dict[str, Any]:
        report = self.report
        return {
            "jobId": self.job_id,
            "tenant": self.tenant,
            "connection": self.name,
            "dryRun": self.dry_run,
            "mode": self.mode,
            "attempts": self.attempts,
            "cursor": self.cursor,
            "error": self.error,
            "importId": report.import_id if report else None,
            "stats": report.stats_dict() if report else {},
            "errors": [e.as_dict() for e in report.errors[:100]] if report else [],
        }


def _fetch(
    connector: SisConnector,
    cursor: str | None,
    job: SyncJob,
    backoff: Backoff,
    sleep: Callable[[float], None],
) -> Fetched:
    delta = cursor is not None and connector.discover_capabilities().delta
    job.mode = "delta" if delta else "snapshot"
    for attempt in range(1, ATTEMPTS + 1):
        job.attempts = attempt
        try:
            return connector.fetch_delta(cursor) if delta and cursor else connector.fetch_snapshot()
        except SisUnavailableError as error:
            log.warning("sis.fetch_failed", connection=job.name, attempt=attempt, error=str(error))
            if attempt == ATTEMPTS:
                raise
            sleep(backoff.delay(attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def run_sync(
    hub: Hub,
    rosters: Rosters,
    read_model: RosterReadModel,
    *,
    tenant: str,
    name: str,
    connector_for: ConnectorFor,
    dry_run: bool = False,
    backoff: Backoff = BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncJob:
    """Run one job of connection `name` of `tenant` (raises KeyError for no such connection)."""
    connection: SisConnection = hub.repository.get(sis_connection_id(tenant, name))
    job = SyncJob(uuid4().hex, tenant, name, dry_run)
    context = EventContext(
        correlation_id=job.job_id,
        causation_id=job.job_id,
        source=f"sis:{name}",
        verified_by="connector",
    )
    connector = connector_for(connection)
    try:
        _run(connector, connection, job, rosters, read_model, context, backoff, sleep)
    finally:
        connector.close()
    if not dry_run:
        _record(hub, connection, job, context)
    log.info("sis.sync", **{k: v for k, v in job.summary().items() if k not in {"errors"}})
    return job


def _run(  # noqa: PLR0917 - one job's parts
    connector: SisConnector,
    connection: SisConnection,
    job: SyncJob,
    rosters: Rosters,
    read_model: RosterReadModel,
    context: EventContext,
    backoff: Backoff,
    sleep: Callable[[float], None],
) -> None:
    problems = connector.validate_config()
    try:
        if problems:
            raise SisConfigError("; ".join(problems))
        fetched = _fetch(connector, connection.cursor, job, backoff, sleep)
        try:
            job.report = import_rows(
                rosters,
                fetched.source,
                tenant=job.tenant,
                state=read_model,
                wait_for=read_model.wait_for,
                dry_run=job.dry_run,
                context=context,
                system=job.name,
                job_id=job.job_id,
            )
            job.cursor = fetched.cursor
        finally:
            fetched.close()
    except (SisConfigError, SisUnavailableError, RosterError) as error:
        job.error = f"{type(error).__name__}: {error}"


def _record(hub: Hub, connection: SisConnection, job: SyncJob, context: EventContext) -> None:
    at = datetime.now(UTC).isoformat()
    with event_context(context):
        if job.error is not None:
            connection.sync_failed(
                job_id=job.job_id, mode=job.mode, error=job.error, attempts=job.attempts, at=at
            )
        elif (job.report and job.report.changed) or job.cursor != connection.cursor:
            report = job.report
            connection.sync_succeeded(
                job_id=job.job_id,
                mode=job.mode,
                cursor=job.cursor,
                import_id=report.import_id if report else None,
                stats=report.stats_dict() if report else {},
                attempts=job.attempts,
                at=at,
            )
        else:
            return
        hub.save(connection)
    job.recorded.append(job.job_id)
