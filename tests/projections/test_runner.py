"""The runner: restart anywhere with exactly-once effect, and one active runner at a time."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest
from eventsourcing.persistence import Tracking
from sqlalchemy import Engine

from hub.bootstrap import Runtime
from infra.sql import make_engine
from projections import lease_holder, registry, wait_for
from projections.event_counts import NAME, EventCountsProjection, all_counts
from projections.runner import run_spec
from projections.status import live_position
from tests.projections.helpers import (
    Ledger,
    RunnerThread,
    record_probes,
    register_tenants,
    running,
)

SPEC = registry.get(NAME)
TTL = 1.5
TRAP_AT = 1500  # inside the second page of 1000


def trapped_child(env: Mapping[str, str], database_url: str, trapped: Any) -> None:
    """In a child process: run event counts and hang in the middle of the page holding TRAP_AT."""

    class Trapped(EventCountsProjection):
        name = NAME

        def process_event(self, domain_event: Any, tracking: Tracking) -> None:
            super().process_event(domain_event, tracking)
            if tracking.notification_id == TRAP_AT:
                trapped.set()
                threading.Event().wait()  # until SIGKILL, its transaction open

    run_spec(
        replace(SPEC, projection_class=Trapped),
        env,
        database_url,
        threading.Event(),
        lease_ttl=TTL,
        owner="child",
    )


@pytest.fixture
def engines() -> Iterator[Callable[[str], Engine]]:
    made: list[Engine] = []

    def engine_for(url: str) -> Engine:
        made.append(make_engine(url))
        return made[-1]

    yield engine_for
    for engine in made:
        engine.dispose()


def test_killed_mid_page_and_restarted_equals_never_stopped(
    runtime: Runtime,
    env: dict[str, str],
    new_database: Callable[[], str],
    engines: Callable[[str], Engine],
) -> None:
    ledger = Ledger()
    register_tenants(runtime, ledger, ["alpha", "beta", "gamma"])
    record_probes(runtime.hub, ledger, ["alpha", "beta", "gamma"], per_tenant=1000)
    assert ledger.head > TRAP_AT + 1000
    reference_url, restarted_url = new_database(), new_database()
    reference, restarted = engines(reference_url), engines(restarted_url)

    with running(SPEC, env, reference_url, lease_ttl=TTL, owner="reference"):
        wait_for(reference, NAME, ledger.head, timeout=120)

    context = multiprocessing.get_context("spawn")
    trapped = context.Event()
    child = context.Process(target=trapped_child, args=(env, restarted_url, trapped))
    child.start()
    try:
        assert trapped.wait(timeout=120), "the child never reached the trap"
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.join(timeout=30)
    assert child.exitcode == -signal.SIGKILL

    # The first page is committed; of the page under way, nothing.
    assert live_position(restarted, NAME) == 1000
    assert sum(row[2] for row in all_counts(restarted)) == 1000

    # The dead child's lease lapses, a new runner takes over from position 1000.
    with running(SPEC, env, restarted_url, lease_ttl=TTL, owner="restarted"):
        wait_for(restarted, NAME, ledger.head, timeout=120)
        assert lease_holder(NAME, env) == "restarted"

    assert all_counts(restarted) == all_counts(reference) == ledger.rows()


def test_one_runner_at_a_time(
    runtime: Runtime, env: dict[str, str], sql_url: str, engine: Engine
) -> None:
    applied_by_b: list[int] = []

    class Spy(EventCountsProjection):
        name = NAME

        def process_event(self, domain_event: Any, tracking: Tracking) -> None:
            applied_by_b.append(tracking.notification_id)
            super().process_event(domain_event, tracking)

    ledger = Ledger()
    register_tenants(runtime, ledger, ["alpha"])
    a = RunnerThread(SPEC, env, sql_url, lease_ttl=TTL, owner="a")
    try:
        wait_for(engine, NAME, ledger.head, timeout=30)
        with running(replace(SPEC, projection_class=Spy), env, sql_url, lease_ttl=TTL, owner="b"):
            record_probes(runtime.hub, ledger, ["alpha"], per_tenant=20)
            wait_for(engine, NAME, ledger.head, timeout=30)
            assert lease_holder(NAME, env) == "a"
            assert applied_by_b == []

            a.stop()  # releases the lease: b takes over without waiting for the TTL
            before = ledger.head
            record_probes(runtime.hub, ledger, ["alpha"], per_tenant=5)
            wait_for(engine, NAME, ledger.head, timeout=30)
            assert lease_holder(NAME, env) == "b"
            assert applied_by_b == list(range(before + 1, ledger.head + 1))
    finally:
        a.stop()
    assert all_counts(engine) == ledger.rows()
