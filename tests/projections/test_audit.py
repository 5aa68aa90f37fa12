"""The audit read model: one row per verdict from the event log and the audit stream, searched."""

from __future__ import annotations

from contextlib import closing
from dataclasses import astuple, dataclass
from datetime import timedelta

import pytest
from eventsourcing.persistence import ProgrammingError
from pydantic import ValidationError
from sqlalchemy import Engine

from projections import rebuild, registry, wait_for
from projections.audit_stream import AUDIT_UPSTREAM
from projections.audit_view import AuditQuery, AuditRow, search_audit
from projections.checksum import version_checksum
from projections.upstreams import open_reader
from schemas.audit import encode_cursor
from tests.projections.audit_world import (
    FORGED_REQUEST_ID,
    TENANT,
    AuditWorld,
    Verdicts,
    world,  # noqa: F401 (a fixture, found by name)
)
from tests.projections.helpers import running

Key = tuple[str, str, str | None, str | None, str | None]
"""(verdict, source, reason, event_type, actor)"""
ADMIN: Key = ("admin", "http:admin", None, "Tenant.Registered", "admin-token")
ACCEPTED: Key = ("accepted", "spark", "hmac-sha256", "Submission.Received", None)
SPARK_REJECTED: Key = ("rejected", "spark:submission", "signature_mismatch", None, None)
LTI_REJECTED: Key = ("rejected", "lti_ags", "token_missing", None, None)


@dataclass
class Projected:
    world: AuditWorld
    verdicts: Verdicts
    engine: Engine

    def find(self, **filters: object) -> list[Key]:
        page = search_audit(self.engine, AuditQuery.model_validate(filters))
        assert page.next_cursor is None
        return [key(row) for row in page.rows]


def key(row: AuditRow) -> Key:
    return (row.verdict, row.source, row.reason, row.event_type, row.actor)


@pytest.fixture
def projected(world: AuditWorld, engine: Engine) -> Projected:  # noqa: F811
    verdicts = world.send_verdicts()
    world.project(verdicts)
    return Projected(world, verdicts, engine)


def test_every_verdict_is_one_row_newest_first(projected: Projected) -> None:
    page = search_audit(projected.engine, AuditQuery())
    v = projected.verdicts
    assert [(row.log, row.position, *key(row)) for row in page.rows] == [
        ("audit", v.lti_rejection, *LTI_REJECTED),
        ("audit", v.spark_rejection, *SPARK_REJECTED),
        ("events", v.accepted_position, *ACCEPTED),
        ("events", v.admin_position, *ADMIN),
    ]
    assert page.next_cursor is None
    assert {row.tenant for row in page.rows} == {TENANT}
    assert all(v.started <= row.recorded_at <= v.ended for row in page.rows)
    admin_row, accepted_row = page.rows[3], page.rows[2]
    assert admin_row.summary.startswith(f"Tenant.Registered {TENANT}.Tenant.")
    assert accepted_row.summary.startswith(f"Submission.Received {TENANT}.Submission.")
    assert len(admin_row.correlation_id or "") == len(accepted_row.correlation_id or "") == 32
    # A rejection's correlation is the request id its evidence kept; its summary, why.
    assert page.rows[1].correlation_id == FORGED_REQUEST_ID
    assert page.rows[1].summary == "X-Spark-Signature does not match the body"


def test_found_by_tenant_source_reason_verdict_and_type(projected: Projected) -> None:
    find = projected.find
    assert find(tenant=TENANT) == [LTI_REJECTED, SPARK_REJECTED, ACCEPTED, ADMIN]
    assert find(tenant="other") == []
    assert find(source="spark") == [SPARK_REJECTED, ACCEPTED]
    assert find(source="spark:submission") == [SPARK_REJECTED]
    assert find(source="lti") == [LTI_REJECTED]
    assert find(source="http:admin") == [ADMIN]
    assert find(source="spa") == []  # a family is a whole name, not any prefix
    assert find(reason="signature_mismatch") == [SPARK_REJECTED]
    assert find(reason="token_missing") == [LTI_REJECTED]
    assert find(reason="hmac-sha256") == [ACCEPTED]
    assert find(verdict="rejected") == [LTI_REJECTED, SPARK_REJECTED]
    assert find(verdict="accepted") == [ACCEPTED]
    assert find(verdict="admin") == [ADMIN]
    assert find(event_type="Submission.Received") == [ACCEPTED]


def test_found_by_time_range(projected: Projected) -> None:
    v, find = projected.verdicts, projected.find
    assert find(since=v.midway) == [LTI_REJECTED, SPARK_REJECTED]
    assert find(until=v.midway) == [ACCEPTED, ADMIN]
    assert find(since=v.started, until=v.ended) == [
        LTI_REJECTED,
        SPARK_REJECTED,
        ACCEPTED,
        ADMIN,
    ]
    assert find(until=v.started - timedelta(seconds=1)) == []
    assert find(since=v.ended + timedelta(seconds=1)) == []


def test_filters_combine(projected: Projected) -> None:
    v, find = projected.verdicts, projected.find
    assert find(tenant=TENANT, source="spark", verdict="rejected") == [SPARK_REJECTED]
    assert find(source="spark", verdict="accepted", until=v.midway) == [ACCEPTED]
    assert find(source="spark", since=v.midway) == [SPARK_REJECTED]
    assert find(source="lti", reason="signature_mismatch") == []
    assert find(verdict="admin", tenant=TENANT, event_type="Tenant.Registered") == [ADMIN]
    assert find(verdict="rejected", reason="token_missing", until=v.midway) == []


def test_cursor_pages_through_every_row_once(projected: Projected) -> None:
    everything = search_audit(projected.engine, AuditQuery()).rows
    seen: list[AuditRow] = []
    cursor = None
    for _ in range(10):
        page = search_audit(projected.engine, AuditQuery(limit=1, cursor=cursor))
        seen += page.rows
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == everything
    pairs = search_audit(projected.engine, AuditQuery(limit=3))
    rest = search_audit(projected.engine, AuditQuery(limit=3, cursor=pairs.next_cursor))
    assert [*pairs.rows, *rest.rows] == everything
    assert rest.next_cursor is None
    # A cursor keeps the filters' rows: page two of the rejections is the older one.
    first = search_audit(projected.engine, AuditQuery(verdict="rejected", limit=1))
    second = search_audit(
        projected.engine, AuditQuery(verdict="rejected", limit=1, cursor=first.next_cursor)
    )
    assert [key(r) for r in (*first.rows, *second.rows)] == [LTI_REJECTED, SPARK_REJECTED]
    assert second.next_cursor is None


def test_a_rebuild_gives_the_same_rows(projected: Projected) -> None:
    before = search_audit(projected.engine, AuditQuery())
    old = version_checksum(projected.engine, "audit", 1)
    version = rebuild("audit", projected.world.env, projected.world.database_url)
    assert version == 2
    assert version_checksum(projected.engine, "audit", 2) == old
    after = search_audit(projected.engine, AuditQuery())
    assert [astuple(r) for r in after.rows] == [astuple(r) for r in before.rows]


def test_verdicts_recorded_while_it_follows_live_are_found(
    world: AuditWorld,  # noqa: F811
    engine: Engine,
) -> None:
    verdicts = world.send_verdicts()
    with running(registry.get("audit"), world.env, world.database_url):
        wait_for(engine, "audit", verdicts.audit_head, timeout=30, upstream=AUDIT_UPSTREAM)
        wait_for(engine, "audit", verdicts.hub_head, timeout=30)
        later = world.forge("later-1")
        wait_for(engine, "audit", later, timeout=30, upstream=AUDIT_UPSTREAM)
        page = search_audit(engine, AuditQuery(reason="signature_mismatch"))
    assert [(row.position, row.correlation_id) for row in page.rows] == [
        (later, "later-1"),
        (verdicts.spark_rejection, FORGED_REQUEST_ID),
    ]


def test_the_audit_stream_is_never_written_as_a_log(world: AuditWorld) -> None:  # noqa: F811
    with closing(open_reader(AUDIT_UPSTREAM, world.env)) as reader:
        assert reader.recorder.max_notification_id() is None
        with pytest.raises(ProgrammingError, match="never as events"):
            reader.recorder.insert_events([])


def test_before_any_run_nothing_is_found(engine: Engine) -> None:
    page = search_audit(engine, AuditQuery(tenant=TENANT))
    assert (page.rows, page.next_cursor) == ([], None)


@pytest.mark.parametrize(
    "bad",
    [
        {"limit": 0},
        {"limit": 501},
        {"verdict": "maybe"},
        {"tenant": "Not A Slug"},
        {"since": "2026-01-01T00:00:00"},  # no time zone
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"cursor": "not-a-cursor"},
        {"cursor": encode_cursor(("t", "events", 1))[:-2]},
        {"cursor": "WyJ0IiwgImV2ZW50cyIsICIxIl0"},  # ["t", "events", "1"]: position not an int
        {"nope": 1},
        {"source": "spark\x00"},  # PostgreSQL refuses NUL in text
        {"reason": "a\nb"},
        {"since": "0001-01-01T00:00:00+14:00"},  # before year 1 once in UTC
        {"cursor": encode_cursor(("2026-01-01T00:00:00+00:00", "elsewhere", 1))},
        {"cursor": encode_cursor(("2026-01-01T00:00:00+00:00", "events", -1))},
        {"cursor": encode_cursor(("not a time", "events", 1))},
    ],
)
def test_bad_queries_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AuditQuery.model_validate(bad)
