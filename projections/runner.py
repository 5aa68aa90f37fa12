"""Running a projection: hold its lease, catch up a page at a time, then follow the log live."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError
from eventsourcing.projection import Projection
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from infra.errors import NatsUnavailableError
from infra.lease import DEFAULT_TTL, Lease, lease_for
from infra.sql import make_engine
from projections import registry, schema
from projections.errors import LeaseLostError, VersionRetiredError
from projections.follow import MergedSubscription
from projections.paging import apply_page
from projections.pump import PAGE_SIZE, catch_up_all, open_live_view
from projections.registry import ProjectionSpec
from projections.upstreams import open_readers
from projections.view import SqlView

POLL_S = 0.2
log = structlog.get_logger(__name__)


def run_projection(
    name: str,
    env: Mapping[str, str],
    database_url: str,
    stop: threading.Event,
    *,
    lease_ttl: float = DEFAULT_TTL,
    owner: str | None = None,
    page_size: int = PAGE_SIZE,
) -> None:
    """Run projection `name` until `stop` is set, in this thread.

    `env` is the applications' eventsourcing environment (`hub.bootstrap.eventsourcing_env`).
    Only the holder of the projection's lease works; others wait and take over within
    `lease_ttl` seconds of the holder dying. The holder catches up with each upstream
    log in pages, then follows them all live (the library's application subscriptions,
    merged), committing what arrived with each upstream's position; after a rebuild
    switches versions it carries on with the new live version.
    """
    run_spec(
        registry.get(name),
        env,
        database_url,
        stop,
        lease_ttl=lease_ttl,
        owner=owner,
        page_size=page_size,
    )


def projection_lease(
    name: str, env: Mapping[str, str], *, owner: str | None = None, ttl: float = DEFAULT_TTL
) -> Lease:
    return lease_for(env, f"projection.{name}", owner=owner, ttl=ttl)


def lease_holder(name: str, env: Mapping[str, str]) -> str | None:
    """Who runs projection `name` now (the owner of its lease), if anyone."""
    return projection_lease(name, env).holder()


def run_spec(
    spec: ProjectionSpec,
    env: Mapping[str, str],
    database_url: str,
    stop: threading.Event,
    *,
    lease_ttl: float = DEFAULT_TTL,
    owner: str | None = None,
    page_size: int = PAGE_SIZE,
) -> None:
    """`run_projection` for a projection that need not be registered (tests use it)."""
    engine = make_engine(database_url)
    lease = projection_lease(spec.name, env, owner=owner, ttl=lease_ttl)
    bound = log.bind(projection=spec.name, owner=lease.owner)
    try:
        while not stop.is_set():
            try:
                if lease.try_acquire():
                    bound.info("projection.active")
                    _Leased(spec, env, engine, lease, stop, page_size).run()
                    continue
            except LeaseLostError as error:
                bound.warning("projection.lease_lost", error=str(error))
            except IntegrityError as error:
                # Another runner applied these events first: this one had stalled.
                bound.warning("projection.overtaken", error=str(error))
                lease.release()
            except (DBAPIError, NatsUnavailableError) as error:
                # Transient: give the lease up so that a healthier standby can take it.
                bound.warning("projection.failed", error=str(error))
                lease.release()
            stop.wait(lease.refresh_interval)
    finally:
        engine.dispose()
        lease.release()
        bound.info("projection.stopped")


@dataclass
class _Leased:
    """The work of the lease holder, until stopped or the lease is lost."""

    spec: ProjectionSpec
    env: Mapping[str, str]
    engine: Engine
    lease: Lease
    stop: threading.Event
    page_size: int

    def run(self) -> None:
        while not self.stop.is_set():
            view = open_live_view(self.spec, self.engine)
            projection = self.spec.projection_class(view)
            try:
                with open_readers(self.spec.upstreams, self.env) as apps:
                    catch_up_all(
                        projection,
                        apps,
                        page_size=self.page_size,
                        stop=self.stop,
                        after_page=self._keep,
                    )
                    self._follow(projection, apps)
            except VersionRetiredError:
                log.info(
                    "projection.version_retired", projection=self.spec.name, version=view.version
                )

    def _keep(self, _position: int) -> None:
        self.lease.keep()

    def _follow(self, projection: Projection[Any], apps: list[Application[Any]]) -> None:
        """Apply new events as they are recorded, until stopped or the live version changes.

        What has arrived from every upstream is applied in one transaction (at most a
        page), with each upstream's last position: one event at a time when idle, fewer
        commits under load.
        """
        view: SqlView = projection.view
        with MergedSubscription(apps, view, projection.topics) as merged:
            while not self.stop.is_set():
                items = merged.take(timeout=POLL_S, limit=self.page_size)
                if items:
                    with view.batch():
                        apply_page(projection, items)
                # A version switch is also noticed by the next write; checking here too
                # moves an idle runner to the new version without waiting for one.
                if self.lease.keep() and _live_version(self.engine, self.spec.name) != (
                    view.version
                ):
                    return


def _live_version(engine: Engine, name: str) -> int | None:
    with engine.connect() as conn:
        found = schema.read_versions(conn, name)
    return None if found is None else found.live
