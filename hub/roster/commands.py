"""`import_roster`: the one command behind `hub roster import` and the admin HTTP route."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hub.domain.base import EventContext, event_context
from hub.roster.bundle import Limits, RowSource, open_bundle
from hub.roster.errors import RosterBehindError
from hub.roster.importer import (
    ImportReport,
    Progress,
    RosterState,
    import_source,
)
from hub.roster.log import ImportLog, Rosters

WaitFor = Callable[[int], None]
"""Blocks until the roster read model has applied this position of the `roster` log."""


def import_roster(
    app: Rosters,
    path: Path,
    *,
    tenant: str,
    state: RosterState,
    wait_for: WaitFor,
    dry_run: bool,
    context: EventContext,
    system: str | None = None,
    job_id: str | None = None,
    limits: Limits | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Diff the bundle at `path` (a zip, or a folder of its files) against the roster as the
    log has it, then record (or just report) the changes. Raises `BundleRefusedError`
    (nothing recorded) or `RosterBehindError`."""
    bundle = open_bundle(path, limits)
    try:
        return import_rows(
            app,
            bundle,
            tenant=tenant,
            state=state,
            wait_for=wait_for,
            dry_run=dry_run,
            context=context,
            system=system,
            job_id=job_id,
            progress=progress,
        )
    finally:
        bundle.close()


def import_rows(
    app: Rosters,
    source: RowSource,
    *,
    tenant: str,
    state: RosterState,
    wait_for: WaitFor,
    dry_run: bool,
    context: EventContext,
    system: str | None = None,
    job_id: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """`import_roster` on an open bundle (what a connector fetched)."""
    _catch_up(app, wait_for)

    def sink_for(report: ImportReport) -> ImportLog:
        return ImportLog(app, report, job_id=job_id, origin=context.source)

    with event_context(context):
        return import_source(
            source,
            tenant=tenant,
            state=state,
            sink_for=None if dry_run else sink_for,
            system=system,
            progress=progress,
        )


def _catch_up(app: Rosters, wait_for: WaitFor) -> None:
    head = app.recorder.max_notification_id() or 0
    try:
        if head:
            wait_for(head)
    except TimeoutError:
        msg = "the roster read model is behind its log: is `hub project` (or `hub run`) running?"
        raise RosterBehindError(msg) from None
