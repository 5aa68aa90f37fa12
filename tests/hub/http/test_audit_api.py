"""`GET /api/v1/admin/audit` on a real server: every verdict found by each filter, paged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.hub.http.conftest import admin
from tests.projections.audit_world import TENANT, AuditWorld, Verdicts
from tests.projections.audit_world import world as world  # noqa: PLC0414 - a fixture
from tests.projections.conftest import new_database as new_database  # noqa: PLC0414
from tests.projections.conftest import sql_url as sql_url  # noqa: PLC0414

URL = "/api/v1/admin/audit"
Found = list[tuple[str, str, str | None]]
"""(verdict, source, reason) of each entry"""
ADMIN = ("admin", "http:admin", None)
ACCEPTED = ("accepted", "spark", "hmac-sha256")
SPARK_REJECTED = ("rejected", "spark:submission", "signature_mismatch")
LTI_REJECTED = ("rejected", "lti_ags", "token_missing")


@pytest.fixture
def sent(world: AuditWorld) -> Verdicts:
    verdicts = world.send_verdicts()
    world.project(verdicts)
    return verdicts


def search(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.get(URL, params=params, headers=admin())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def found(client: httpx.Client, **params: Any) -> Found:
    body = search(client, **params)
    assert body["next_cursor"] is None
    return [(e["verdict"], e["source"], e["reason"]) for e in body["entries"]]


def test_each_verdict_is_found_by_tenant_source_reason_and_time(
    world: AuditWorld, sent: Verdicts
) -> None:
    client = world.client
    everything = search(client)["entries"]
    assert [(e["log"], e["position"], e["event_type"], e["actor"]) for e in everything] == [
        ("audit", sent.lti_rejection, None, None),
        ("audit", sent.spark_rejection, None, None),
        ("events", sent.accepted_position, "Submission.Received", None),
        ("events", sent.admin_position, "Tenant.Registered", "admin-token"),
    ]
    assert {e["tenant"] for e in everything} == {TENANT}
    assert found(client, tenant=TENANT) == [LTI_REJECTED, SPARK_REJECTED, ACCEPTED, ADMIN]
    assert found(client, tenant="beta") == []
    assert found(client, source="spark") == [SPARK_REJECTED, ACCEPTED]
    assert found(client, source="lti_ags") == [LTI_REJECTED]
    assert found(client, source="http:admin") == [ADMIN]
    assert found(client, reason="signature_mismatch") == [SPARK_REJECTED]
    assert found(client, reason="token_missing") == [LTI_REJECTED]
    assert found(client, verdict="admin") == [ADMIN]
    assert found(client, event_type="Submission.Received") == [ACCEPTED]
    midway = sent.midway.isoformat()
    assert found(client, since=midway) == [LTI_REJECTED, SPARK_REJECTED]
    assert found(client, until=midway) == [ACCEPTED, ADMIN]
    assert found(client, since=sent.started.isoformat(), until=midway) == [ACCEPTED, ADMIN]
    # Filters combine.
    assert found(client, source="spark", verdict="rejected", tenant=TENANT) == [SPARK_REJECTED]
    assert found(client, source="spark", since=midway) == [SPARK_REJECTED]
    assert found(client, verdict="accepted", reason="signature_mismatch") == []


def test_pages_follow_the_cursor(world: AuditWorld, sent: Verdicts) -> None:
    client = world.client
    first = search(client, limit=3)
    assert [e["position"] for e in first["entries"]] == [
        sent.lti_rejection,
        sent.spark_rejection,
        sent.accepted_position,
    ]
    second = search(client, limit=3, cursor=first["next_cursor"])
    assert [e["position"] for e in second["entries"]] == [sent.admin_position]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "many"},
        {"verdict": "maybe"},
        {"tenant": "NOT_A_SLUG"},
        {"since": "yesterday"},
        {"since": "2026-01-01T00:00:00"},
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"cursor": "forged"},
        {"colour": "blue"},
        {"source": "spark\x00"},
        {"event_type": "Submission\x7f"},
        {"since": "0001-01-01T00:00:00+14:00"},
        {"cursor": "WyJ4IiwiYXVkaXQiLDFd"},  # ["x","audit",1]: not a time
    ],
)
def test_bad_params_are_422_problems(world: AuditWorld, params: dict[str, str]) -> None:
    response = world.client.get(URL, params=params, headers=admin())
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_needs_the_admin_token(world: AuditWorld) -> None:
    assert world.client.get(URL).status_code == 401
    assert world.client.get(URL, headers=admin("wrong")).status_code == 401


def test_before_the_projection_ran_nothing_is_found(world: AuditWorld) -> None:
    assert search(world.client) == {"entries": [], "next_cursor": None}


def test_the_route_is_documented(world: AuditWorld) -> None:
    operation = world.client.get("/openapi.json").json()["paths"][URL]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {
        "tenant",
        "source",
        "verdict",
        "reason",
        "event_type",
        "since",
        "until",
        "cursor",
        "limit",
    }
    assert set(operation["responses"]) >= {"200", "401", "422"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AuditResults"
    }
