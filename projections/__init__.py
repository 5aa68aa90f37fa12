"""Read models built from the log: SQL views, their runners, rebuilds and status.

The command line and the web pages use only what is listed here:

    run_projection(name, env, database_url, stop, *, lease_ttl=10.0, owner=None,
                   page_size=1000) -> None
        Run projection `name` in this thread until `stop` is set; only the holder of
        its NATS lease works, others stand by and take over when it dies.
    rebuild(name, env, database_url, *, progress=None, page_size=5000,
            lease_ttl=10.0) -> int
        Build version N+1 from position zero beside the live one, switch to it
        atomically, drop version N; returns the new version.
    progress_bar(description="rebuilding") -> ContextManager[ProgressCallback]
        A rich progress bar whose callback `rebuild(progress=...)` takes.
    projection_statuses(hub_app, engine) -> list[ProjectionStatus]
        Live version, position, head, lag and any rebuild under way, per projection,
        and per upstream application (`ProjectionStatus.upstreams`: `UpstreamStatus`).
    wait_for(engine, name, position, timeout=5.0, *, upstream=None) -> None
        Read your own writes: block until `name` has applied `position` of `upstream`'s
        log (its first upstream by default).
    lease_holder(name, env) -> str | None
        Who runs projection `name` now.
    projection_names() -> list[str]
        The registered projections.
    counts(engine, tenant) -> list[(event_type, count, last_position)]
        The event counts read model.
    projections.portfolio: portfolio(engine, tenant, learner_id) -> Portfolio | None,
        wait_for(engine, {"hub": position, "progress": position}, timeout=5.0)
        The portfolio read model (it follows the `hub` and `progress` logs).

`env` is the eventsourcing environment of the applications
(`hub.bootstrap.eventsourcing_env(settings, nats_url)`); engines come from
`infra.sql.make_engine`. New read models subclass `SqlView` and are added to
`projections.registry.PROJECTIONS` with the names of the applications whose logs they
follow (`upstreams`, `("hub",)` by default).
"""

from __future__ import annotations

from projections.errors import (
    LeaseLostError,
    ProjectionError,
    RebuildInProgressError,
    UnknownProjectionError,
    VersionRetiredError,
)
from projections.event_counts import counts
from projections.rebuild import ProgressCallback, progress_bar, rebuild
from projections.registry import names as projection_names
from projections.runner import lease_holder, run_projection
from projections.status import (
    ProjectionStatus,
    RebuildProgress,
    UpstreamStatus,
    projection_statuses,
    wait_for,
)
from projections.view import SqlView

__all__ = [
    "LeaseLostError",
    "ProgressCallback",
    "ProjectionError",
    "ProjectionStatus",
    "RebuildInProgressError",
    "RebuildProgress",
    "SqlView",
    "UnknownProjectionError",
    "UpstreamStatus",
    "VersionRetiredError",
    "counts",
    "lease_holder",
    "progress_bar",
    "projection_names",
    "projection_statuses",
    "rebuild",
    "run_projection",
    "wait_for",
]
