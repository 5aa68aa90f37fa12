"""The family JSON API through HTTP (uvicorn on loopback, the family projection running):
each refusal with its precise problem type, the observer signed in by accepting."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from hub.bootstrap import Runtime, eventsourcing_env
from hub.domain.learners import learner_id
from hub.http import create_app, runtime_readiness
from hub.spark.connection import connect_spark
from hub.spark.ingress import now_s
from infra.sql import make_engine
from projections import registry
from projections.family import wait_for
from tests.hub.family.people import T0, person
from tests.hub.http.conftest import ADMIN_TOKEN, admin
from tests.hub.http.live_server import live_server
from tests.hub.spark.signals import sso_token
from tests.projections.family_world import DAY, due_task, heads
from tests.projections.helpers import running
from tests.projections.portfolio_world import ProgressLog, World, task_of

PROBLEMS = "https://hub.example/problems/"


@dataclass
class Hub:
    """The app on loopback, its clock, and what the tests record beside it."""

    app: FastAPI
    http: httpx.Client
    world: World
    runtime: Runtime
    now: datetime = T0

    def cookie(self, person_id: str, role: str) -> dict[str, str]:
        cookie, _ = self.app.state.spark.signer.issue(
            tenant=person_id.split(".", 1)[0],
            learner_id=person_id,
            role=role,
            position=0,
            now=now_s(),
        )
        return {"Cookie": f"hub_session={cookie}"}

    def settle(self) -> None:
        """Wait until the family read model has applied everything recorded."""
        wait_for(self.app.state.family.reads.engine, heads(self.world), timeout=30)


@pytest.fixture
def hub(runtime: Runtime, tmp_path: Path) -> Iterator[Hub]:
    engine = make_engine(f"sqlite:///{tmp_path / 'ready.sqlite3'}")
    app = create_app(runtime, readiness=runtime_readiness(runtime, engine), admin_token=ADMIN_TOKEN)
    env = eventsourcing_env(runtime.settings, runtime.nats_url)
    progress = ProgressLog(env)
    made = Hub(app, httpx.Client(), World(runtime.hub, progress), runtime)
    app.state.family.clock = lambda: made.now
    spec = registry.get("family")
    with (
        running(spec, env, runtime.settings.resolved_database_url, lease_ttl=1.5),
        live_server(app) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        made.http = http
        yield made
    progress.close()
    engine.dispose()


def problem(response: httpx.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEMS + slug


def invite(hub: Hub, student: str, email: str, **rights: bool) -> dict[str, str]:
    response = hub.http.post(
        "/api/v1/me/observers/invitations",
        json={"email": email, "name": "Grace Hopper", "relationship": "grandparent", **rights},
        headers=hub.cookie(student, "student"),
    )
    assert response.status_code == 201, response.text
    sent: dict[str, str] = response.json()
    return sent


def accept(hub: Hub, code: str) -> httpx.Response:
    return hub.http.post("/api/v1/observers/invitations/accept", json={"code": code})


def test_invite_accept_list_and_remove(hub: Hub) -> None:
    alice = person(hub.runtime.hub, "acme", "alice")
    sent = invite(hub, alice, "grace@example.org")
    assert sent["accept_path"] == f"/observer/accept/{sent['code']}"
    assert sent["expires_at"] == (T0 + 7 * DAY).isoformat()

    accepted = accept(hub, sent["code"])
    assert accepted.status_code == 200, accepted.text
    grace = accepted.json()["observer_id"]
    assert accepted.json()["new_account"] is True
    set_cookie = accepted.headers["set-cookie"]
    assert set_cookie.startswith("hub_session=")
    assert {"HttpOnly", "Secure", "SameSite=lax"} <= {p.strip() for p in set_cookie.split(";")}
    session = set_cookie.split(";", 1)[0]
    students = hub.http.get("/api/v1/me/students", headers={"Cookie": session})
    assert [s["learner_id"] for s in students.json()["students"]] == [alice]
    problem(accept(hub, sent["code"]), 409, "invitation-used")

    mine = hub.http.get("/api/v1/me/observers", headers=hub.cookie(alice, "student")).json()
    assert [(i["status"], i["email"]) for i in mine["invitations"]] == [
        ("accepted", "grace@example.org")
    ]
    assert [(o["observer_id"], o["name"]) for o in mine["observers"]] == [(grace, "Grace Hopper")]

    as_alice = hub.cookie(alice, "student")
    assert hub.http.delete(f"/api/v1/me/observers/{grace}", headers=as_alice).status_code == 200
    problem(
        hub.http.delete(f"/api/v1/me/observers/{grace}", headers=as_alice),
        409,
        "observer-already-removed",
    )
    problem(
        hub.http.delete("/api/v1/me/observers/acme.Account.x", headers=as_alice),
        404,
        "observer-not-found",
    )
    assert hub.http.get("/api/v1/me/observers", headers=as_alice).json()["observers"] == []
    # The removed observer's comment is refused for the removal, whatever the task.
    comment = hub.http.post(
        f"/api/v1/me/students/{alice}/comments",
        json={"task_id": "any", "text": "Still here?"},
        headers={"Cookie": session},
    )
    problem(comment, 403, "observer-removed")
    hub.settle()
    students = hub.http.get("/api/v1/me/students", headers={"Cookie": session})
    assert students.json()["students"] == []


def test_expired_cancelled_and_unknown_codes(hub: Hub) -> None:
    alice = person(hub.runtime.hub, "acme", "alice")
    expiring = invite(hub, alice, "grace@example.org")
    cancelled = invite(hub, alice, "dee@example.org")
    as_alice = hub.cookie(alice, "student")
    gone = hub.http.delete(
        f"/api/v1/me/observers/invitations/{cancelled['invitation_id']}", headers=as_alice
    )
    assert gone.status_code == 200, gone.text
    problem(accept(hub, cancelled["code"]), 410, "invitation-cancelled")
    problem(accept(hub, "acme.0123.nonsense"), 404, "invitation-not-found")
    hub.now = T0 + 7 * DAY
    problem(accept(hub, expiring["code"]), 410, "invitation-expired")
    statuses = hub.http.get("/api/v1/me/observers", headers=as_alice).json()["invitations"]
    assert sorted(i["status"] for i in statuses) == ["cancelled", "expired"]


def test_comments_need_rights_completed_work_and_a_sensible_length(hub: Hub) -> None:
    world, tenant = hub.world, "acme"
    alice = person(hub.runtime.hub, tenant, "alice")
    quest = world.quest(tenant, "course_bio", "Biology")
    lab = due_task(world, tenant, quest, "a_lab", "Lab: Leaves", T0)
    essay = due_task(world, tenant, quest, "a_essay", "Essay", T0)
    world.complete(tenant, alice, task_of(world, lab), ["lab.pdf"])
    fan = accept(hub, invite(hub, alice, "fan@example.org")["code"]).json()["observer_id"]
    quiet_code = invite(hub, alice, "quiet@example.org", can_comment=False)["code"]
    quiet = accept(hub, quiet_code).json()["observer_id"]
    hub.settle()

    def comment(observer: str, task: str, text: str, student: str = alice) -> httpx.Response:
        return hub.http.post(
            f"/api/v1/me/students/{student}/comments",
            json={"task_id": task, "text": text},
            headers=hub.cookie(observer, "observer"),
        )

    problem(comment(quiet, lab, "Well done"), 403, "comment-not-allowed")
    problem(comment(fan, lab, "   "), 422, "comment-empty")
    problem(comment(fan, lab, "x" * 2001), 422, "comment-too-long")
    problem(comment(fan, essay, "Well done"), 404, "work-not-found")
    beta_alice = person(hub.runtime.hub, "beta", "alice")
    problem(comment(fan, lab, "Hello", student=beta_alice), 403, "other-tenant")
    stranger = person(hub.runtime.hub, tenant, "stranger")
    problem(comment(stranger, lab, "Hello"), 403, "not-linked")
    left = comment(fan, lab, "  <script>alert(1)</script> Great!  ")
    assert left.status_code == 201, left.text

    mine = hub.http.get("/api/v1/me/comments", headers=hub.cookie(alice, "student")).json()
    [seen] = mine["comments"]
    assert (seen["observer_id"], seen["task_id"], seen["text"]) == (
        fan,
        lab,
        "<script>alert(1)</script> Great!",
    )
    assert hub.http.get("/api/v1/me/comments").status_code == 401
    problem(hub.http.get("/api/v1/me/comments"), 401, "session-required")
    problem(
        hub.http.get("/api/v1/me/comments", headers=hub.cookie(fan, "observer")),
        403,
        "role-not-allowed",
    )
    nobody_observed = hub.http.get("/api/v1/me/students", headers=hub.cookie(alice, "student"))
    assert nobody_observed.json() == {"students": []}


def test_admin_links_guardians_and_sets_the_rhythm(hub: Hub) -> None:
    hub.runtime.hub.register_tenant("acme", "Acme", hub.runtime.box)
    alice = person(hub.runtime.hub, "acme", "alice")
    mum = person(hub.runtime.hub, "acme", "mum", role="parent")
    body = {"tenant": "acme", "guardian_id": mum, "student_id": alice, "relationship": "mother"}
    url = "/api/v1/admin/family/guardians"
    first = hub.http.post(url, json=body, headers=admin())
    again = hub.http.post(url, json=body, headers=admin())
    assert (first.status_code, first.json()["changed"]) == (200, True)
    assert (again.json()["changed"], again.json()["position"]) == (False, None)
    problem(hub.http.post(url, json=body), 401, "unauthorized")
    problem(hub.http.post(url, json=body | {"tenant": "nobody"}, headers=admin()), 404, "not-found")
    beta = person(hub.runtime.hub, "beta", "alice")
    problem(
        hub.http.post(url, json=body | {"student_id": beta}, headers=admin()), 422, "cross-tenant"
    )
    ghost = "acme.Learner." + "0" * 32
    problem(
        hub.http.post(url, json=body | {"student_id": ghost}, headers=admin()),
        404,
        "person-not-found",
    )
    unlinked = hub.http.post(f"{url}/unlink", json=body, headers=admin())
    assert unlinked.json()["changed"] is True
    rhythm = "/api/v1/admin/family/rhythm"
    assert (
        hub.http.put(rhythm, json={"tenant": "acme", "days": 10}, headers=admin()).status_code
        == 200
    )
    problem(
        hub.http.put(rhythm, json={"tenant": "acme", "days": 0}, headers=admin()),
        422,
        "rhythm-out-of-range",
    )


def test_a_parent_signed_in_from_spark_sees_only_their_linked_students(hub: Hub) -> None:
    runtime = hub.runtime
    runtime.hub.register_tenant("acme", "Acme", runtime.box)
    spark = connect_spark(runtime.hub, runtime.box, "acme", "https://spark.example/api")
    token = sso_token(spark.sso_secret, sub="parent_7", email="mum@example.org", role="parent")
    signed_in = hub.http.get("/t/acme/spark/sso", params={"token": token})
    assert signed_in.status_code == 303, signed_in.text
    as_mum = {"Cookie": signed_in.headers["set-cookie"].split(";", 1)[0]}
    mum = learner_id("acme", "spark", "parent_7")
    alice, bob = person(runtime.hub, "acme", "alice"), person(runtime.hub, "acme", "bob")
    link = {"tenant": "acme", "guardian_id": mum, "student_id": alice, "relationship": "mother"}
    assert hub.http.post("/api/v1/admin/family/guardians", json=link, headers=admin()).is_success
    hub.settle()

    children = hub.http.get("/api/v1/me/children", headers=as_mum).json()
    assert children["rhythm_days"] == 7
    [child] = children["students"]
    assert (child["learner_id"], child["relationship"], child["rhythm"]) == (
        alice,
        "mother",
        "yellow",
    )
    assert hub.http.get(f"/api/v1/me/children/{alice}", headers=as_mum).json() == child
    problem(hub.http.get(f"/api/v1/me/children/{bob}", headers=as_mum), 403, "not-linked")
    beta_alice = person(runtime.hub, "beta", "alice")
    problem(hub.http.get(f"/api/v1/me/children/{beta_alice}", headers=as_mum), 403, "other-tenant")
    as_alice = hub.cookie(alice, "student")
    problem(hub.http.get("/api/v1/me/children", headers=as_alice), 403, "role-not-allowed")


def test_an_existing_persons_invitation_is_accepted_only_by_them_signed_in(hub: Hub) -> None:
    alice = person(hub.runtime.hub, "acme", "alice")
    aunt = person(hub.runtime.hub, "acme", "aunt", role="parent", email="aunt@example.org")
    code = invite(hub, alice, "aunt@example.org")["code"]
    # The code alone (which Alice holds too) does not sign anyone in as the aunt.
    problem(accept(hub, code), 401, "invitation-sign-in-required")
    as_alice = hub.cookie(alice, "student")
    refused = hub.http.post(
        "/api/v1/observers/invitations/accept", json={"code": code}, headers=as_alice
    )
    problem(refused, 401, "invitation-sign-in-required")
    as_aunt = hub.cookie(aunt, "parent")
    done = hub.http.post(
        "/api/v1/observers/invitations/accept", json={"code": code}, headers=as_aunt
    )
    assert done.status_code == 200, done.text
    assert (done.json()["observer_id"], done.json()["new_account"]) == (aunt, False)
    # Her own session stays hers (same person, same role), now saying she observes too.
    renewed = hub.app.state.spark.signer.read(done.cookies["hub_session"], now=now_s())
    assert (renewed.person_id, renewed.role, renewed.roles) == (aunt, "parent", ("observer",))
    hub.settle()
    # Signed in as a parent, she reaches Alice through the observer link.
    observed = hub.http.get("/api/v1/me/students", headers=as_aunt).json()["students"]
    assert [s["learner_id"] for s in observed] == [alice]


def test_events_carry_the_requests_context(hub: Hub) -> None:
    alice = person(hub.runtime.hub, "acme", "alice")
    sent = hub.http.post(
        "/api/v1/me/observers/invitations",
        json={"email": "g@example.org", "name": "G", "relationship": "coach"},
        headers={**hub.cookie(alice, "student"), "X-Correlation-ID": "corr-42"},
    )
    assert sent.status_code == 201, sent.text
    recorder, mapper = hub.runtime.hub.recorder, hub.runtime.hub.mapper
    events = [mapper.to_domain_event(n) for n in recorder.select_notifications(1, 1000)]
    [invited] = [e for e in events if type(e).__qualname__ == "ObserverCircle.InvitationSent"]
    assert invited.context["correlation_id"] == "corr-42"
    assert invited.context["causation_id"] == sent.headers["x-request-id"]
    assert invited.context["verified_by"] == "session"
