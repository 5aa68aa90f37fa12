"""The versioned tenant API over real read models and the log, through a real server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from hub.bootstrap import Runtime, eventsourcing_env
from hub.domain.learners import Learner
from hub.domain.submissions import Submission
from hub.quests.commands import save_quest, save_task
from projections import registry
from projections.portfolio import wait_for
from projections.portfolio_pages import page_readers
from tests.hub.api.conftest import bearer, make_client
from tests.projections.helpers import running


@pytest.fixture
def portfolio_running(app: FastAPI, runtime: Runtime, engine: Engine) -> Iterator[None]:
    """The app reads the pages' read models, kept current by the portfolio projection."""
    env = eventsourcing_env(runtime.settings, runtime.nats_url)
    app.state.page_readers = page_readers(engine, env)
    with running(registry.get("portfolio"), env, str(engine.url)):
        yield


def learner(runtime: Runtime, tenant: str, key: str) -> tuple[str, int]:
    made = Learner(tenant, "hub", key, f"{key}@school.test", key.title(), "Learner", "student")
    return made.id, runtime.hub.save(made)[-1].notification.id


def get(http: httpx.Client, token: str, path: str, **params: Any) -> httpx.Response:
    return http.get(f"/api/v1/tenants/{path}", headers=bearer(token), params=params)


@pytest.mark.usefixtures("portfolio_running")
def test_learners_come_a_page_at_a_time_with_their_portfolios(
    client: httpx.Client, runtime: Runtime, engine: Engine, tenants: tuple[str, str]
) -> None:
    ids = sorted(learner(runtime, "alpha", key)[0] for key in ("ann", "bob", "cat"))
    _, position = learner(runtime, "beta", "dan")
    wait_for(engine, {"hub": position}, timeout=20)
    token = make_client(client, "alpha", "portfolio:read").token(client)
    first = get(client, token, "alpha/learners", limit=2).json()
    assert [row["learner_id"] for row in first["learners"]] == ids[:2]
    assert first["next_after"] == ids[1]
    rest = get(client, token, "alpha/learners", limit=2, after=first["next_after"]).json()
    assert [row["learner_id"] for row in rest["learners"]] == ids[2:]
    assert rest["next_after"] is None
    portfolio = get(client, token, f"alpha/learners/{ids[0]}/portfolio")
    assert portfolio.status_code == 200
    assert portfolio.json()["learner_id"] == ids[0]
    assert portfolio.json()["total_xp"] == 0
    unknown = get(client, token, "alpha/learners/alpha.Learner." + "f" * 32 + "/portfolio")
    assert unknown.status_code == 404
    badges = get(client, token, f"alpha/learners/{ids[0]}/badges")
    assert badges.status_code == 200
    assert badges.json() == {"badges": []}


def test_a_read_model_the_hub_does_not_run_is_a_503_problem(
    client: httpx.Client, tenants: tuple[str, str]
) -> None:
    token = make_client(client, "alpha", "portfolio:read").token(client)
    answer = get(client, token, "alpha/learners")
    assert answer.status_code == 503
    assert answer.json()["type"] == "https://hub.example/problems/read-model-unavailable"


def test_the_tenant_s_events_come_in_pages_without_secrets(
    client: httpx.Client, tenants: tuple[str, str]
) -> None:
    reader = make_client(client, "alpha", "events:read")
    token = reader.token(client)
    first = get(client, token, "alpha/events", limit=1).json()
    [registered] = first["events"]
    assert registered["event_type"] == "Tenant.Registered"
    assert registered["data"]["api_key_hash"] == "[redacted]"
    assert registered["data"]["webhook_secret_sealed"] == "[redacted]"
    rest = get(client, token, "alpha/events", after=first["next_after"]).json()
    types = [event["event_type"] for event in rest["events"]]
    assert types == ["ApiClient.Registered"]
    assert rest["events"][0]["data"]["secret_sha256"] == "[redacted]"
    assert rest["next_after"] is None
    assert all(event["position"] > first["next_after"] for event in rest["events"])


def test_a_score_is_recorded_as_a_graded_submission_with_its_client(
    client: httpx.Client, runtime: Runtime, tenants: tuple[str, str]
) -> None:
    quest = save_quest(runtime.hub, "alpha", "q1", {"title": "Robots", "pillar": "stem"})
    task = save_task(runtime.hub, "alpha", quest.aggregate_id, "t1", {"title": "Build", "xp": 10})
    learner_id, _ = learner(runtime, "alpha", "eve")
    grader = make_client(client, "alpha", "scores:write")
    answer = client.post(
        f"/api/v1/tenants/alpha/learners/{learner_id}/tasks/{task.aggregate_id}/scores",
        headers=bearer(grader.token(client)),
        json={"score": 8.5, "comment": "well built"},
    )
    assert answer.status_code == 202, answer.text
    submission: Submission = runtime.hub.repository.get(answer.json()["submission_id"])
    assert (submission.grade, submission.learner_key, submission.source) == (8.5, "eve", "hub")
    assert submission.assignment_key == runtime.hub.repository.get(task.aggregate_id).external_id
    received = next(iter(runtime.hub.repository.event_store.get(submission.id)))
    assert received.context["verified_by"] == f"client:{grader.client_id}"  # type: ignore[attr-defined]
    nobody = client.post(
        f"/api/v1/tenants/alpha/learners/alpha.Learner.{'0' * 32}/tasks/{task.aggregate_id}/scores",
        headers=bearer(grader.token(client)),
        json={"score": 1},
    )
    assert nobody.status_code == 422
    assert nobody.json()["type"] == "https://hub.example/problems/score-refused"


def test_the_roster_needs_roster_read(client: httpx.Client, tenants: tuple[str, str]) -> None:
    roster = make_client(client, "alpha", "roster:read").token(client)
    answer = get(client, roster, "alpha/roster/users")
    assert answer.status_code == 200
    assert answer.json() == {"resources": [], "total": 0, "next_offset": None}
    other = make_client(client, "alpha", "portfolio:read").token(client)
    assert get(client, other, "alpha/roster/enrollments").status_code == 403
