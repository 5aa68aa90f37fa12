"""The projections the hub runs, by name: what the `hub` command line and the runners look up."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.application import Application
from eventsourcing.projection import Projection

from projections.audit import UPSTREAMS as AUDIT_UPSTREAMS
from projections.audit import AuditProjection, AuditView
from projections.badges import BadgesProjection, BadgesView
from projections.caliper_status import CaliperDeliveriesProjection, CaliperDeliveriesView
from projections.errors import UnknownProjectionError
from projections.event_counts import EventCountsProjection, EventCountsView
from projections.family_events import FamilyProjection
from projections.family_view import FamilyView
from projections.gradebook import GradebookProjection, GradebookView
from projections.integration_health import UPSTREAMS as HEALTH_UPSTREAMS
from projections.integration_health import IntegrationHealthProjection, IntegrationHealthView
from projections.portfolio import PortfolioProjection
from projections.portfolio_view import PortfolioView
from projections.roster import RosterProjection
from projections.roster_view import RosterView
from projections.view import SqlView

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ProjectionSpec:
    """A projection, the read model it writes and the applications whose logs it follows.

    `upstreams` are eventsourcing application names (`"hub"`, `"progress"`): each is
    read with a plain application of that name (`projections.upstreams`), and its
    position is tracked on its own, in the same transaction as the view's change.
    """

    name: str
    projection_class: type[Projection[Any]]
    view_class: type[SqlView]
    upstreams: tuple[str, ...] = ("hub",)
    # At most this many events per page (None: the runner's): a projection whose events
    # are large batches (the roster's, 500 records each) keeps its pages within a lease.
    page_size: int | None = None

    def __post_init__(self) -> None:
        if not self.upstreams or len(set(self.upstreams)) != len(self.upstreams):
            msg = f"{self.name}: upstreams must be distinct and at least one: {self.upstreams}"
            raise ValueError(msg)


PROJECTIONS: dict[str, ProjectionSpec] = {
    spec.name: spec
    for spec in (
        ProjectionSpec("event_counts", EventCountsProjection, EventCountsView),
        ProjectionSpec("gradebook", GradebookProjection, GradebookView),
        ProjectionSpec(
            "portfolio", PortfolioProjection, PortfolioView, upstreams=("hub", "progress")
        ),
        ProjectionSpec(
            "caliper_deliveries",
            CaliperDeliveriesProjection,
            CaliperDeliveriesView,
            upstreams=("caliper-http",),
        ),
        ProjectionSpec("roster", RosterProjection, RosterView, upstreams=("roster",), page_size=10),
        ProjectionSpec("family", FamilyProjection, FamilyView, upstreams=("hub", "progress")),
        ProjectionSpec(
            "badges", BadgesProjection, BadgesView, upstreams=("hub", "progress", "badges")
        ),
        ProjectionSpec(
            "audit", AuditProjection, AuditView, upstreams=AUDIT_UPSTREAMS, page_size=100
        ),
        ProjectionSpec(
            "integration_health",
            IntegrationHealthProjection,
            IntegrationHealthView,
            upstreams=HEALTH_UPSTREAMS,
        ),
    )
}


def names() -> list[str]:
    return sorted(PROJECTIONS)


def get(name: str) -> ProjectionSpec:
    try:
        return PROJECTIONS[name]
    except KeyError:
        known = ", ".join(names())
        msg = f"no projection is named {name!r} (known: {known})"
        raise UnknownProjectionError(msg) from None


# What the `hub` command line calls (hub/cli/processes.py). The imports are local because
# the runner, rebuild and status modules look projections up here.


def start_projections(
    env: Mapping[str, str], database_url: str, stop: threading.Event
) -> list[threading.Thread]:
    """Run every registered projection in a daemon thread until `stop` is set."""
    from projections.runner import run_projection  # noqa: PLC0415

    def run(name: str) -> None:
        try:
            run_projection(name, env, database_url, stop)
        except Exception:
            log.exception("projection.crashed", projection=name)

    threads = []
    for name in names():
        thread = threading.Thread(target=run, args=(name,), name=f"projection-{name}", daemon=True)
        thread.start()
        threads.append(thread)
    log.info("projections.started", names=names())
    return threads


def status_rows(hub_app: Application[Any], database_url: str) -> list[dict[str, Any]]:
    """`projection_statuses` as rows to print, one per projection and upstream.

    A projection that follows several applications gets one row for each, named
    `projection (upstream)`; version is "-" before a first run.
    """
    from infra.sql import make_engine  # noqa: PLC0415
    from projections.status import projection_statuses  # noqa: PLC0415

    engine = make_engine(database_url)
    try:
        statuses = projection_statuses(hub_app, engine)
    finally:
        engine.dispose()
    rows = []
    for s in statuses:
        for upstream in s.upstreams:
            several = len(s.upstreams) > 1
            rows.append(
                {
                    "name": f"{s.name} ({upstream.application})" if several else s.name,
                    "projection": s.name,
                    "upstream": upstream.application,
                    "version": "-" if s.live_version is None else s.live_version,
                    "position": upstream.position,
                    "head": upstream.head,
                    "lag": upstream.lag,
                    "rebuilding": None if s.rebuilding is None else s.rebuilding.version,
                }
            )
    return rows


def rebuild_with_progress(
    hub_app: Application[Any], database_url: str, names: Sequence[str]
) -> dict[str, int]:
    """Rebuild the projections `names` with a progress bar (their upstreams read with
    `hub_app`'s environment); their new versions by name. Several are rebuilt together,
    each log read once for all of them (`projections.rebuild_together`)."""
    from projections.rebuild import progress_bar, rebuild  # noqa: PLC0415
    from projections.rebuild_together import rebuild_together  # noqa: PLC0415

    names = list(dict.fromkeys(names))
    for name in names:
        get(name)  # an unknown name fails before the bar is drawn
    env = dict(hub_app.env)
    with progress_bar(f"rebuilding {', '.join(names)}") as progress:
        if len(names) == 1:
            return {names[0]: rebuild(names[0], env, database_url, progress=progress)}
        return rebuild_together(names, env, database_url, progress=progress)
