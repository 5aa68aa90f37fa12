"""One NATS stream set, one read-model database and one running roster projection per module;
each test works in tenants of its own."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import Engine

from connectors.sis.people import follow
from hub.bootstrap import Runtime, build_runtime, eventsourcing_env
from hub.domain.base import EventContext
from hub.roster.commands import import_roster
from hub.roster.importer import ImportReport
from hub.roster.log import Rosters
from infra.settings import Settings
from infra.sql import make_engine
from projections import registry
from projections.roster import SqlRosterState, wait_for
from tests.conftest import drop_streams, new_prefix
from tests.projections.conftest import fresh_database
from tests.projections.helpers import RunnerThread


@dataclass
class RosterWorld:
    """The parts a roster test uses: the hub, the roster log, the read model."""

    runtime: Runtime
    rosters: Rosters
    engine: Engine
    env: dict[str, str]

    def import_(
        self, path: Path, tenant: str, *, dry_run: bool = False, **options: object
    ) -> ImportReport:
        context = EventContext(correlation_id="test", causation_id="test", source="csv")
        report = import_roster(
            self.rosters,
            path,
            tenant=tenant,
            state=SqlRosterState(self.engine),
            wait_for=lambda position: wait_for(self.engine, position, timeout=20),
            dry_run=dry_run,
            context=context,
            **options,  # type: ignore[arg-type]
        )
        if report.position is not None:
            wait_for(self.engine, report.position, timeout=20)
        return report


def tenant() -> str:
    return "t" + secrets.token_hex(4)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def roster_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    base = os.environ.get("HUB_TEST_DATABASE_URL")
    tmp = tmp_path_factory.mktemp("roster-db")
    if request.param == "sqlite":
        yield f"sqlite:///{tmp / 'roster.sqlite3'}"
        return
    if not base:
        pytest.skip("HUB_TEST_DATABASE_URL is not set: PostgreSQL path not tested here")
    databases = fresh_database(base, tmp)
    new = next(databases)
    yield new()
    next(databases, None)


@pytest.fixture(scope="module")
def world(
    nats_url: str, roster_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RosterWorld]:
    prefix = new_prefix()
    settings = Settings(data_dir=tmp_path_factory.mktemp("hub"), stream_prefix=prefix)
    runtime = build_runtime(settings, nats_url)
    env = eventsourcing_env(settings, nats_url)
    rosters = Rosters(env=env)
    engine = make_engine(roster_db)
    runner = RunnerThread(registry.get("roster"), env, roster_db, lease_ttl=2.0)
    try:
        yield RosterWorld(runtime, rosters, engine, env)
    finally:
        runner.stop()
        rosters.close()
        runtime.hub.close()
        engine.dispose()
        drop_streams(nats_url, prefix)


@pytest.fixture(scope="module")
def following(world: RosterWorld) -> Iterator[None]:
    """`roster-people` following the module's roster log."""
    stop = threading.Event()
    thread = threading.Thread(target=follow, args=(world.env, stop), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=30)


def eventually(read: Callable[[], Any], timeout: float = 30.0) -> Any:
    """What `read` returns once it finds the aggregate (the policy follows the log)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return read()
        except AggregateNotFoundError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
