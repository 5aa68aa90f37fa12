"""`hub replay` for auditors: verdicts by source, reason, verdict, time, with the audit stream's
rejections, read straight from NATS (no read model involved)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.replay import ReplayFilter, replay
from infra.nats_client import NatsConnection
from tests.projections.audit_world import TENANT, AuditWorld, Verdicts, audit_world

HUB = str(Path(sys.executable).parent / "hub")
Seen = list[tuple[str, int, str]]
"""(log, position, verdict or event type) of each record"""


@pytest.fixture
def world(nats_url: str, stream_prefix: str, tmp_path: Path) -> Iterator[AuditWorld]:
    with audit_world(
        nats_url, stream_prefix, f"sqlite:///{tmp_path / 'read.db'}", tmp_path
    ) as made:
        yield made


@pytest.fixture
def sent(world: AuditWorld) -> Verdicts:
    return world.send_verdicts()


def seen(world: AuditWorld, **filters: Any) -> Seen:
    connection = NatsConnection.shared(world.runtime.nats_url)
    records = replay(connection, world.runtime.settings.stream_prefix, ReplayFilter(**filters))
    return [
        (r.get("log", "events"), r["position"], r.get("verdict") or r["event_type"])
        for r in records
    ]


def test_rejections_only_with_verdict_rejected_or_when_asked(
    world: AuditWorld, sent: Verdicts
) -> None:
    spark = ("audit", sent.spark_rejection, "rejected")
    lti = ("audit", sent.lti_rejection, "rejected")
    assert seen(world, verdict="rejected") == [spark, lti]
    assert seen(world, verdict="rejected", tenant=TENANT) == [spark, lti]
    assert seen(world, verdict="rejected", tenant="beta") == []
    everything = seen(world, tenant=TENANT, rejections=True)
    # Events and rejections merged in time order: the rejections came last.
    assert everything[-2:] == [spark, lti]
    assert ("events", sent.accepted_position, "Submission.Received") in everything
    assert all(log == "events" for log, _, _ in seen(world, tenant=TENANT))


def test_found_by_source_reason_and_verdict(world: AuditWorld, sent: Verdicts) -> None:
    accepted = ("events", sent.accepted_position, "Submission.Received")
    admin = ("events", sent.admin_position, "Tenant.Registered")
    spark = ("audit", sent.spark_rejection, "rejected")
    lti = ("audit", sent.lti_rejection, "rejected")
    assert seen(world, source="spark", rejections=True) == [accepted, spark]
    assert seen(world, source="spark") == [accepted]
    assert seen(world, source="lti_ags", rejections=True) == [lti]
    assert seen(world, source="http:admin") == [admin]
    assert seen(world, verdict="admin") == [admin]
    assert seen(world, verdict="accepted") == [accepted]
    assert seen(world, reason="signature_mismatch", verdict="rejected") == [spark]
    assert seen(world, reason="token_missing", rejections=True) == [lti]
    assert seen(world, reason="hmac-sha256") == [accepted]
    # Rejections name no event type, aggregate or application: such filters leave them out.
    assert seen(world, rejections=True, event_types=frozenset({"Submission.Received"})) == [
        accepted
    ]


def test_found_by_time_range(world: AuditWorld, sent: Verdicts) -> None:
    accepted = ("events", sent.accepted_position, "Submission.Received")
    admin = ("events", sent.admin_position, "Tenant.Registered")
    spark = ("audit", sent.spark_rejection, "rejected")
    lti = ("audit", sent.lti_rejection, "rejected")
    verdicts = {"rejections": True, "tenant": TENANT}
    later = seen(world, since=sent.midway, **verdicts)
    assert later == [spark, lti]
    earlier = seen(world, until=sent.midway, **verdicts)
    assert earlier[-1] == accepted
    assert admin in earlier
    assert spark not in earlier
    assert seen(world, since=sent.ended, **verdicts) == []


def _hub(world: AuditWorld, *args: str) -> list[dict[str, Any]]:
    settings = world.runtime.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env |= {
        "HUB_NATS_URL": world.runtime.nats_url,
        "HUB_STREAM_PREFIX": settings.stream_prefix,
        "HUB_DATA_DIR": str(settings.data_dir),
    }
    done = subprocess.run(
        [HUB, "replay", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_the_command_line_filters_and_reads_rejections(world: AuditWorld, sent: Verdicts) -> None:
    rejected = _hub(world, "--verdict", "rejected", "--source", "spark")
    assert [(r["position"], r["source"], r["reason"], r["tenant"]) for r in rejected] == [
        (sent.spark_rejection, "spark:submission", "signature_mismatch", TENANT)
    ]
    assert set(rejected[0]) == {
        "log",
        "position",
        "recorded_at",
        "verdict",
        "tenant",
        "source",
        "kind",
        "reason",
        "detail",
        "evidence",
    }
    since = sent.midway.isoformat().replace("+00:00", "")
    later = _hub(world, "--rejections", "--tenant", TENANT, "--since", since)
    assert [(r["log"], r["position"]) for r in later] == [
        ("audit", sent.spark_rejection),
        ("audit", sent.lti_rejection),
    ]
    admins = _hub(world, "--verdict", "admin")
    assert [(r["position"], r["data"]["context"]["source"]) for r in admins] == [
        (sent.admin_position, "http:admin")
    ]
    refused = subprocess.run(
        [HUB, "replay", "--verdict", "maybe"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert "maybe" in refused.stderr
