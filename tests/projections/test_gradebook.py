"""The gradebook read model: line items and the latest score per user, tenants apart, and
the NRPS members reader on the portfolio's enrolments (SQLite, and PostgreSQL when set)."""

from __future__ import annotations

from sqlalchemy import Engine

from hub.bootstrap import Runtime
from hub.domain.learners import Learner
from hub.domain.lti_platform import LtiGradebook, LtiResult
from hub.domain.quests import Quest
from projections import registry
from projections.gradebook import context_gradebook, lti_readers, results_of, wait_for
from projections.portfolio import wait_for as portfolio_wait_for
from schemas.lti import MembersQuery
from tests.projections.helpers import running

CONTEXT = "c" * 32


def score(user: str, given: float, timestamp: str) -> dict[str, object]:
    return {
        "userId": user,
        "scoreGiven": given,
        "scoreMaximum": 10.0,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": timestamp,
        "client_id": "tool",
        "context_id": CONTEXT,
        "line_item": {"id": "li-1", "label": "Quiz", "scoreMaximum": 10.0},
    }


def test_results_keep_the_latest_score_per_user_and_tenant(
    runtime: Runtime, env: dict[str, str], sql_url: str, engine: Engine
) -> None:
    hub = runtime.hub
    for tenant in ("acme", "beta"):
        hub.register_tenant(tenant, tenant.title(), runtime.box)
    book = LtiGradebook("acme", "tool", CONTEXT)
    book.create_line_item("li-1", {"id": "li-1", "label": "Quiz", "scoreMaximum": 10.0}, "t")
    book.create_line_item("li-2", {"id": "li-2", "label": "Gone", "scoreMaximum": 5.0}, "t")
    first = LtiResult(
        "acme", "li-1", "acme.Learner.a", score("acme.Learner.a", 4, "2026-01-01T00:00:00+00:00")
    )
    other = LtiResult(
        "acme", "li-1", "acme.Learner.b", score("acme.Learner.b", 9, "2026-01-01T00:00:00+00:00")
    )
    elsewhere = LtiResult(
        "beta", "li-1", "beta.Learner.a", score("beta.Learner.a", 1, "2026-01-01T00:00:00+00:00")
    )
    hub.save(book, first, other, elsewhere)
    first.post(score("acme.Learner.a", 7, "2026-01-02T00:00:00+00:00"))
    book.delete_line_item("li-2")
    position = hub.save(first, book)[-1].notification.id
    with running(registry.get("gradebook"), env, sql_url):
        wait_for(engine, position, timeout=30)
    found = results_of(engine, "acme", "li-1", None, 100)
    assert [(r["userId"], r["scoreGiven"]) for r in found] == [
        ("acme.Learner.a", 7),
        ("acme.Learner.b", 9),
    ]
    assert [r["userId"] for r in results_of(engine, "acme", "li-1", "acme.Learner.b", 100)] == [
        "acme.Learner.b"
    ]
    assert [r["userId"] for r in results_of(engine, "beta", "li-1", None, 100)] == [
        "beta.Learner.a"
    ]
    grades = context_gradebook(engine, "acme", CONTEXT)
    assert [(g.label, g.user_id, g.score_given) for g in grades] == [
        ("Quiz", "acme.Learner.a", 7.0),
        ("Quiz", "acme.Learner.b", 9.0),
    ]


def test_members_are_the_enrolled_people_a_page_at_a_time(
    runtime: Runtime, env: dict[str, str], sql_url: str, engine: Engine
) -> None:
    hub = runtime.hub
    hub.register_tenant("acme", "Acme", runtime.box)
    quest = Quest("acme", "spark", "c1", {"title": "Algebra"})
    people = []
    for n, role in enumerate(["student", "student", "teacher", "student"]):
        person = Learner("acme", "spark", f"u{n}", f"u{n}@x.example", "P", str(n), role)
        person.enrol(quest.id, "spark")
        people.append(person)
    outsider = Learner("acme", "spark", "u9", "u9@x.example", "O", "9", "student")
    position = hub.save(quest, *people, outsider)[-1].notification.id
    with running(registry.get("portfolio"), env, sql_url):
        portfolio_wait_for(engine, {"hub": position}, timeout=30)
    members, _ = lti_readers(engine)
    everyone = members(MembersQuery("acme", quest.id, None, 0, 10))
    assert sorted(m.user_id for m in everyone) == sorted(p.id for p in people)
    page = members(MembersQuery("acme", quest.id, None, 2, 2))
    assert [m.user_id for m in page] == [m.user_id for m in everyone][2:4]
    teachers = members(MembersQuery("acme", quest.id, ("teacher",), 0, 10))
    assert [(m.user_id, m.role, m.name) for m in teachers] == [(people[2].id, "teacher", "P 2")]
    assert members(MembersQuery("beta", quest.id, None, 0, 10)) == []
