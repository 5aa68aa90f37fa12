"""Status (position, head, lag), reading your own writes, and the package's public API."""

from __future__ import annotations

import types

import pytest
from sqlalchemy import Engine

import projections
from hub.bootstrap import Runtime
from projections import ProjectionStatus, projection_statuses, registry, wait_for
from projections.event_counts import NAME
from projections.status import UpstreamStatus
from tests.projections.helpers import Ledger, register_tenants, running, status_of

SPEC = registry.get(NAME)


def test_status_shows_position_head_and_lag(
    runtime: Runtime, env: dict[str, str], sql_url: str, engine: Engine
) -> None:
    ledger = Ledger()
    register_tenants(runtime, ledger, ["alpha", "beta", "gamma"])

    assert status_of(projection_statuses(runtime.hub, engine), NAME) == ProjectionStatus(
        NAME,
        live_version=None,
        position=0,
        head=ledger.head,
        lag=ledger.head,
        rebuilding=None,
        upstreams=(UpstreamStatus("hub", position=0, head=ledger.head, lag=ledger.head),),
    )

    with running(SPEC, env, sql_url, lease_ttl=1.5):
        wait_for(engine, NAME, ledger.head, timeout=30)
    caught_up = ledger.head
    assert status_of(projection_statuses(runtime.hub, engine), NAME) == ProjectionStatus(
        NAME,
        live_version=1,
        position=caught_up,
        head=caught_up,
        lag=0,
        rebuilding=None,
        upstreams=(UpstreamStatus("hub", position=caught_up, head=caught_up, lag=0),),
    )

    register_tenants(runtime, ledger, ["delta", "epsilon"])
    status = status_of(projection_statuses(runtime.hub, engine), NAME)
    assert (status.position, status.head, status.lag) == (
        caught_up,
        ledger.head,
        ledger.head - caught_up,
    )
    assert status.lag == 2


def test_wait_for_gives_up_after_its_timeout(engine: Engine) -> None:
    with pytest.raises(TimeoutError, match="event_counts"):
        wait_for(engine, NAME, 1, timeout=0.05)


def test_unknown_projection() -> None:
    with pytest.raises(projections.UnknownProjectionError, match="event_counts"):
        registry.get("nope")


def test_public_api_is_what_all_lists() -> None:
    public = {
        name
        for name, value in vars(projections).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    public.discard("annotations")  # from __future__
    assert set(projections.__all__) == public
    assert projections.__all__ == sorted(projections.__all__)
    assert projections.projection_names() == [
        "audit",
        "badges",
        "caliper_deliveries",
        "event_counts",
        "family",
        "gradebook",
        "integration_health",
        "portfolio",
        "roster",
    ]
