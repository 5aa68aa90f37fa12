"""Replay for auditors, filtered by tenant, aggregate, type, time and position, on a real server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.bootstrap import Runtime, build_runtime
from hub.domain.tenants import tenant_id
from hub.replay import ReplayFilter, replay, to_json_line
from infra.nats_client import NatsConnection
from infra.settings import Settings


@pytest.fixture
def runtime(nats_url: str, stream_prefix: str, tmp_path: Path) -> Runtime:
    settings = Settings(data_dir=tmp_path, stream_prefix=stream_prefix)
    runtime = build_runtime(settings, nats_url)
    for slug in ("alpha", "beta", "gamma"):
        runtime.hub.register_tenant(slug, slug.title(), runtime.box)
    return runtime


def _replay(runtime: Runtime, **kwargs: object) -> list[dict[str, object]]:
    connection = NatsConnection.shared(runtime.nats_url)
    return list(replay(connection, runtime.settings.stream_prefix, ReplayFilter(**kwargs)))  # type: ignore[arg-type]


def test_replays_everything_in_log_order(runtime: Runtime) -> None:
    records = _replay(runtime)
    assert [r["tenant"] for r in records] == ["alpha", "beta", "gamma"]
    assert [r["position"] for r in records] == [1, 2, 3]
    assert {r["event_type"] for r in records} == {"Tenant.Registered"}
    assert records[0]["data"]["name"] == "Alpha"  # type: ignore[index]


def test_filters_by_tenant_aggregate_and_type(runtime: Runtime) -> None:
    assert [r["tenant"] for r in _replay(runtime, tenant="beta")] == ["beta"]
    gamma = _replay(runtime, aggregate_id=tenant_id("gamma"))
    assert [r["aggregate_id"] for r in gamma] == [tenant_id("gamma")]
    assert len(_replay(runtime, aggregate_type="Tenant")) == 3
    assert _replay(runtime, aggregate_type="Learner") == []
    assert len(_replay(runtime, event_types=frozenset({"Registered"}))) == 3
    assert _replay(runtime, event_types=frozenset({"Tenant.Renamed"})) == []


def test_filters_by_position_and_time(runtime: Runtime) -> None:
    assert [r["position"] for r in _replay(runtime, from_position=2)] == [2, 3]
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert _replay(runtime, since=later) == []
    earlier = datetime.now(UTC) - timedelta(minutes=1)
    assert len(_replay(runtime, since=earlier)) == 3
    assert _replay(runtime, until=earlier) == []


def test_records_are_json_lines_without_secrets(runtime: Runtime) -> None:
    line = to_json_line(_replay(runtime, tenant="alpha")[0])
    record = json.loads(line)
    assert record["recorded_at"].endswith("+00:00")
    assert "hubk_" not in line  # the API key is stored hashed
    assert "whsec_" not in line  # the webhook secret is sealed
