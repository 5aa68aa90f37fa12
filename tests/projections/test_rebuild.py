"""Rebuild: a new version built beside the live one, identical rows, an atomic switch."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, inspect

from hub.bootstrap import Runtime
from infra.errors import LeaseLostError
from infra.lease import lease_for
from projections import (
    RebuildInProgressError,
    progress_bar,
    projection_statuses,
    rebuild,
    registry,
    wait_for,
)
from projections.event_counts import NAME, all_counts
from projections.rebuild import keeping
from projections.rebuild_together import rebuild_together
from projections.status import live_position
from tests.projections.helpers import (
    Ledger,
    record_probes,
    register_tenants,
    running,
    status_of,
)

SPEC = registry.get(NAME)
TTL = 1.5


def test_rebuild_switches_atomically_to_identical_rows(
    runtime: Runtime, env: dict[str, str], sql_url: str, engine: Engine
) -> None:
    ledger = Ledger()
    register_tenants(runtime, ledger, ["alpha", "beta"])
    record_probes(runtime.hub, ledger, ["alpha", "beta"], per_tenant=300)

    with running(SPEC, env, sql_url, lease_ttl=TTL, owner="live"):
        wait_for(engine, NAME, ledger.head, timeout=60)
        before = all_counts(engine)
        assert before == ledger.rows()

        mid_build: list[dict[str, Any]] = []

        def progress(position: int, head: int) -> None:
            if position < head:
                status = status_of(projection_statuses(runtime.hub, engine), NAME)
                mid_build.append(
                    {
                        "status": status,
                        "rows": all_counts(engine),
                        "live_position": live_position(engine, NAME),
                    }
                )

        reads: list[list[tuple[str, str, int, int]]] = []
        errors: list[BaseException] = []
        rebuilt = threading.Event()

        def read_all_the_time() -> None:
            while not rebuilt.is_set():
                try:
                    reads.append(all_counts(engine))
                except Exception as error:  # noqa: BLE001 - the assertion reports it
                    errors.append(error)

        reader = threading.Thread(target=read_all_the_time)
        reader.start()
        try:
            version = rebuild(NAME, env, sql_url, progress=progress, page_size=100)
        finally:
            rebuilt.set()
            reader.join()

        assert version == 2
        assert errors == []
        # Before the switch every read saw version 1 complete; after it, version 2:
        # never a half-built view.
        assert reads
        assert all(read == before for read in reads)
        assert len(mid_build) >= 5
        for seen in mid_build:
            assert seen["rows"] == before
            assert seen["live_position"] == ledger.head
            assert seen["status"].live_version == 1
            assert seen["status"].rebuilding.version == 2
            assert 0 < seen["status"].rebuilding.position < ledger.head

        status = status_of(projection_statuses(runtime.hub, engine), NAME)
        assert (status.live_version, status.rebuilding) == (2, None)
        assert not inspect(engine).has_table("event_counts_v1")
        assert all_counts(engine) == before

        # The live runner moves on to version 2 and keeps it up to date.
        register_tenants(runtime, ledger, ["gamma"])
        record_probes(runtime.hub, ledger, ["alpha"], per_tenant=3)
        wait_for(engine, NAME, ledger.head, timeout=30)
        assert all_counts(engine) == ledger.rows()
    status = status_of(projection_statuses(runtime.hub, engine), NAME)
    assert (status.live_version, status.position, status.lag) == (2, ledger.head, 0)


def test_rebuild_without_a_runner_builds_everything(
    runtime: Runtime, env: dict[str, str], sql_url: str, engine: Engine
) -> None:
    ledger = Ledger()
    register_tenants(runtime, ledger, ["alpha"])
    record_probes(runtime.hub, ledger, ["alpha"], per_tenant=10)
    heads: list[tuple[int, int]] = []

    with progress_bar() as bar:

        def progress(position: int, head: int) -> None:
            heads.append((position, head))
            bar(position, head)

        assert rebuild(NAME, env, sql_url, progress=progress) == 2

    assert all_counts(engine) == ledger.rows()
    assert heads[-1] == (ledger.head, ledger.head)
    assert rebuild(NAME, env, sql_url) == 3
    assert all_counts(engine) == ledger.rows()
    assert not inspect(engine).has_table("event_counts_v2")


def test_one_rebuild_at_a_time(runtime: Runtime, env: dict[str, str], sql_url: str) -> None:
    other = lease_for(env, f"rebuild.{NAME}", owner="other", ttl=TTL)
    assert other.try_acquire()
    try:
        with pytest.raises(RebuildInProgressError, match="other"):
            rebuild(NAME, env, sql_url)
    finally:
        other.release()


def test_rebuilding_together_takes_every_lease_or_none(
    runtime: Runtime, env: dict[str, str], sql_url: str
) -> None:
    other = lease_for(env, "rebuild.badges", owner="other", ttl=TTL)
    assert other.try_acquire()
    try:
        with pytest.raises(RebuildInProgressError, match="other"):
            rebuild_together(["portfolio", "badges"], env, sql_url)
    finally:
        other.release()
    # The portfolio's lease, taken first, was given back.
    after = lease_for(env, "rebuild.portfolio", owner="after", ttl=TTL)
    assert after.try_acquire()
    after.release()


def test_a_lease_lost_while_kept_stops_the_rebuild_at_its_next_page(env: dict[str, str]) -> None:
    lease = lease_for(env, "rebuild.kept", owner="first", ttl=TTL)
    assert lease.try_acquire()
    rival = lease_for(env, "rebuild.kept", owner="rival", ttl=TTL)
    keeper = keeping([lease])
    check = keeper.__enter__()
    check()  # held: nothing to say
    lease.release()  # as if it had lapsed during a long pause ...
    assert rival.try_acquire()  # ... and another process took it
    assert "not held" in str(_until_lost(check))
    with pytest.raises(LeaseLostError):  # and leaving says so too
        keeper.__exit__(None, None, None)
    rival.release()


def _until_lost(check: Callable[[], None]) -> LeaseLostError:
    """The error `check` raises once the keeper found the lease lost (a few refreshes)."""
    for _ in range(600):  # a guard against hanging, not a timing: 30 s
        try:
            check()
        except LeaseLostError as error:
            return error
        time.sleep(0.05)
    pytest.fail("the keeper never found the lease lost")
