"""Rebuilding a projection without downtime: build version N+1 beside N, then switch atomically."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.application import Application
from eventsourcing.projection import Projection
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import Connection, Engine

from infra.errors import LeaseLostError
from infra.lease import DEFAULT_TTL, Lease, lease_for
from infra.sql import make_engine, writing
from projections import registry, schema
from projections.errors import ProjectionError, RebuildInProgressError
from projections.pump import catch_up, catch_up_all, open_live_view
from projections.registry import ProjectionSpec
from projections.upstreams import head, open_readers

REBUILD_PAGE_SIZE = 5000
"""Events per transaction while rebuilding: fewer commits and statements per event than a
runner's pages (readers see the old version meanwhile, so nothing waits on a page)."""

ProgressCallback = Callable[[int, int], None]
"""Called with (position reached, head of the log) after each page."""

log = structlog.get_logger(__name__)


def rebuild(
    name: str,
    env: Mapping[str, str],
    database_url: str,
    *,
    progress: ProgressCallback | None = None,
    page_size: int = REBUILD_PAGE_SIZE,
    lease_ttl: float = DEFAULT_TTL,
) -> int:
    """Rebuild projection `name` from position zero; returns the new live version.

    The new version's tables are built beside the live ones (which a runner keeps
    updating meanwhile) a page at a time, from each upstream log in turn; once caught
    up with every head, the last pages of every upstream and the switch of the live
    pointer commit in one transaction, then the old version's tables are dropped.
    Readers see the old version, complete, until the switch. A rebuild that died is
    resumed from its last page by the next one. Raises `RebuildInProgressError` if
    another process is rebuilding `name`.
    """
    spec = registry.get(name)
    with rebuild_lease(env, name, lease_ttl) as lease:
        engine = make_engine(database_url)
        try:
            return rebuild_spec(spec, env, engine, lease, progress=progress, page_size=page_size)
        finally:
            engine.dispose()


@contextmanager
def rebuild_lease(env: Mapping[str, str], name: str, ttl: float) -> Iterator[Lease]:
    """The lease of rebuilding `name`, held inside; `RebuildInProgressError` if taken."""
    lease = lease_for(env, f"rebuild.{name}", ttl=ttl)
    if not lease.try_acquire():
        msg = f"{name} is being rebuilt by {lease.holder() or 'another process'}"
        raise RebuildInProgressError(msg)
    try:
        yield lease
    finally:
        lease.release()


def rebuild_spec(
    spec: ProjectionSpec,
    env: Mapping[str, str],
    engine: Engine,
    lease: Lease,
    *,
    progress: ProgressCallback | None = None,
    page_size: int = REBUILD_PAGE_SIZE,
) -> int:
    """`rebuild` with the lease held, for a projection that need not be registered."""
    page_size = min(page_size, spec.page_size or page_size)
    with keeping([lease]) as check, open_readers(spec.upstreams, env) as apps:
        building = begin_building(spec, engine)
        track = RebuildProgress(apps, check, progress)
        for app in apps:
            catch_up(
                building.projection, app, page_size=page_size, after_page=track.page_of(app.name)
            )
        reached = switch_to(building, engine, apps, page_size=page_size)
    if progress is not None:
        total = sum(reached.values())
        progress(total, total)
    return building.version


@dataclass(frozen=True)
class Building:
    """A projection's version being built beside the live one."""

    spec: ProjectionSpec
    version: int
    projection: Projection[Any]


def begin_building(spec: ProjectionSpec, engine: Engine) -> Building:
    """The version to build (the one a dead rebuild left, or the next), its tables made."""
    open_live_view(spec, engine)
    with writing(engine) as conn:
        found = _versions(conn, spec.name)
        version = found.building or found.live + 1
        schema.set_building(conn, spec.name, version)
    view = spec.view_class(engine, version)
    view.create_tables()
    log.info(
        "rebuild.started",
        projection=spec.name,
        version=version,
        live=found.live,
        upstreams=list(spec.upstreams),
    )
    return Building(spec, version, spec.projection_class(view))


def switch_to(
    building: Building, engine: Engine, apps: Sequence[Application[Any]], *, page_size: int
) -> dict[str, int]:
    """Apply the last pages of every upstream in `apps` and make the version live, in one
    transaction; then drop the retired version's tables. The positions reached."""
    spec = building.spec
    with writing(engine) as conn:
        # Holding the pointer's row stops the live runner's writes (PostgreSQL: they
        # take it shared; SQLite: one writer at a time), so the last pages take the
        # new version at least as far as the old one, in every upstream, before it
        # goes live.
        current = _versions(conn, spec.name)
        reached = catch_up_all(building.projection, apps, page_size=page_size, conn=conn)
        schema.switch_live(conn, spec.name, building.version)
    retired = spec.view_class(engine, current.live)
    retired.drop_tables()
    log.info(
        "rebuild.switched",
        projection=spec.name,
        version=building.version,
        positions=reached,
        retired=current.live,
    )
    return reached


@contextmanager
def keeping(leases: Sequence[Lease]) -> Iterator[Callable[[], None]]:
    """The leases refreshed by a thread of their own while inside: a window of the log read
    and a page applied (for several projections at once) may take longer than a lease
    lives on a busy machine. Yields a check that raises `LeaseLostError` once one is lost
    (a rebuild calls it after each page)."""
    stop = threading.Event()
    lost: list[LeaseLostError] = []

    interval = min((lease.refresh_interval for lease in leases), default=1.0) / 2

    def keep() -> None:
        while not stop.wait(interval):
            try:
                for lease in leases:
                    lease.keep()
            except LeaseLostError as error:
                lost.append(error)
                return

    def check() -> None:
        if lost:
            raise lost[0]

    thread = threading.Thread(target=keep, name="rebuild-leases", daemon=True)
    thread.start()
    try:
        yield check
    finally:
        stop.set()
        thread.join()
    check()


class RebuildProgress:
    """Checks the leases after each page of a rebuild (`keeping`) and reports (positions,
    heads) summed over upstreams.

    Positions of different upstreams are sequence numbers of one stream: their sum says
    nothing by itself, but it only grows and meets the heads' sum at the end, which is
    what a progress bar needs.
    """

    def __init__(
        self,
        apps: Sequence[Application[Any]],
        check: Callable[[], None],
        progress: ProgressCallback | None,
    ) -> None:
        self._apps = apps
        self._check = check
        self._progress = progress
        self._reached: dict[str, int] = {}

    def page_of(self, name: str) -> Callable[[int], None]:
        def after_page(position: int) -> None:
            self._check()
            self._reached[name] = position
            if self._progress is not None:
                heads = sum(max(self._reached.get(a.name, 0), head(a)) for a in self._apps)
                self._progress(sum(self._reached.values()), heads)

        return after_page


def _versions(conn: Connection, name: str) -> schema.Versions:
    found = schema.read_versions(conn, name, lock="update")
    if found is None:  # open_live_view registered it: someone dropped the table meanwhile
        msg = f"{name} is not registered in projection_versions"
        raise ProjectionError(msg)
    return found


@contextmanager
def progress_bar(description: str = "rebuilding") -> Iterator[ProgressCallback]:
    """A rich progress bar on the terminal, and the callback that moves it."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(description, total=None)

        def update(position: int, head: int) -> None:
            bar.update(task, completed=position, total=head)

        yield update
