"""The mapping from hub events to Caliper 1.2 events: every type the hub emits, checked by the rules
and compared with the specification's example of the same type."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.utils import resolve_topic

from hub.caliper.iris import Iris, People, hex_of
from hub.caliper.mapping import (
    READY,
    SOURCES,
    Context,
    map_event,
    qualname_of,
    read_lti_launch,
    read_page_view,
    read_score,
    read_sign_out,
)
from hub.domain.learners import learner_id
from hub.domain.spark import SsoToken
from hub.domain.submissions import Submission
from schemas.caliper_rules import validate_event

FIXTURES = Path("/work/shared/data/caliper-v1p2/fixtures")
TENANT = "acme"
AT = datetime(2025, 1, 15, 14, 35, tzinfo=UTC)
SAM = learner_id(TENANT, "spark", "sam")


@dataclass
class Lookups:
    """The `Lookups` port over plain dicts (the emitter's is `HubLookups`, on the hub's log)."""

    learners: dict[tuple[str, str], str] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def learner_of(self, tenant: str, source: str, external_id: str) -> str | None:
        return self.learners.get((source, external_id))

    def task_details(self, tenant: str, source: str, external_id: str) -> Mapping[str, Any]:
        return self.tasks.get(external_id, {})


def context(*, pseudonym_key: str | None = None, **tasks: dict[str, Any]) -> Context:
    iris = Iris(TENANT, pseudonym_key)
    lookups = Lookups({("spark", "sam"): SAM}, dict(tasks))
    return Context(iris, People(iris, pseudonym_key), lookups)


def recorded(aggregate: Any) -> Any:
    (event,) = aggregate.collect_events()
    return event


def sso_event(nonce: str = "n1") -> Any:
    return recorded(
        SsoToken(
            tenant=TENANT,
            token_key=nonce,
            subject="sam",
            expires_at=2_000_000_000,
            learner_id=SAM,
            matched_by="identity",
            claims={"sub": "sam", "email": "sam@example.org", "given_name": "Sam"},
        )
    )


def submission_event(grade: float | None = 8.0) -> Any:
    return recorded(
        Submission(
            tenant=TENANT,
            source="spark",
            learner_key="sam",
            assignment_key="a-quiz",
            submitted_at="2025-01-15T14:30:00+00:00",
            course_key="c-bio",
            text="",
            files=[],
            grade=grade,
            verified={},
        )
    )


# Stand-ins for source events that have not landed yet: only their fields matter.


@dataclass(frozen=True)
class SourceEvent:
    originator_id: str
    originator_version: int
    timestamp: datetime


@dataclass(frozen=True)
class LtiLaunch(SourceEvent):
    learner_id: str
    claims: dict[str, Any]
    context_id: str
    tool_url: str


@dataclass(frozen=True)
class PageView(SourceEvent):
    learner_id: str
    path: str
    title: str
    referrer: str


@dataclass(frozen=True)
class SignOut(SourceEvent):
    learner_id: str
    session_id: str


@dataclass(frozen=True)
class ScorePosted(SourceEvent):
    source: str
    learner_key: str
    assignment_key: str
    course_key: str
    submitted_at: str
    submission_id: str
    score: float


def launch() -> LtiLaunch:
    claims = {"sub": "lti-sub-1", "name": "Sam Learner", "email": "sam@example.org"}
    return LtiLaunch(
        f"{TENANT}.LtiLaunch.{'a' * 32}", 1, AT, SAM, claims, "ctx-1", "https://tool.example.com"
    )


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"caliperEvent{name}.json").read_text())
    return loaded


def all_events() -> list[tuple[str, dict[str, Any]]]:
    """(specification example, our event) for every event type and action the hub emits."""
    ctx = context(**{"a-quiz": {"assignment_type": "quiz", "max_points": 10, "title": "Quiz"}})
    plain = context()
    page = PageView(f"{TENANT}.PageView.{'b' * 32}", 1, AT, SAM, "/portfolio", "My work", "/")
    out = SignOut(f"{TENANT}.SignOut.{'c' * 32}", 1, AT, SAM, sso_event().originator_id)
    score = ScorePosted(
        f"{TENANT}.Score.{'d' * 32}",
        1,
        AT,
        "spark",
        "sam",
        "a-quiz",
        "c-bio",
        "2025-01-15",
        "x.Submission.e",
        7,
    )
    login = map_event(sso_event(), ctx)
    assessment, graded = map_event(submission_event(), ctx)
    (assignable,) = map_event(submission_event(grade=None), plain)
    tool, lti_login = read_lti_launch(launch(), ctx)
    navigated, viewed = read_page_view(page, ctx)
    events = [
        ("SessionLoggedIn", login[0]),
        ("AssessmentSubmitted", assessment),
        ("GradeGraded", graded),
        ("AssignableActivated", assignable),
        ("ToolLaunchLaunched", tool),
        ("SessionLoggedIn", lti_login),
        ("NavigationNavigatedToWebPage", navigated),
        ("ViewViewedDocument", viewed),
        ("SessionLoggedOut", read_sign_out(out, ctx)[0]),
        ("GradeGraded", read_score(score, ctx)[0]),
    ]
    return [(name, event.to_json()) for name, event in events]


EMITTED = all_events()
OPTIONAL_SLOTS = {"group", "membership", "session", "federatedSession", "generated", "referrer"}


@pytest.mark.parametrize(("example", "ours"), EMITTED, ids=[f"{e}-{o['type']}" for e, o in EMITTED])
def test_each_event_keeps_the_rules_and_looks_like_the_specifications_example(
    example: str, ours: dict[str, Any]
) -> None:
    validate_event(ours)
    spec = fixture(example)
    assert (ours["type"], ours["profile"]) == (spec["type"], spec["profile"])
    if example != "AssignableActivated":  # the only AssignableEvent example is Activated
        assert ours["action"] == spec["action"]
    assert set(ours) - OPTIONAL_SLOTS <= set(spec)
    for slot in ("actor", "object", "generated"):
        if isinstance(spec.get(slot), dict) and slot in ours:
            assert ours[slot]["type"] == spec[slot]["type"] or example in {
                "AssignableActivated",
                "NavigationNavigatedToWebPage",
                "ViewViewedDocument",
            }
    assert ours["id"].startswith("urn:uuid:")
    assert ours["eventTime"].endswith("Z")


def test_every_emitted_type_is_one_a_tenant_can_enable() -> None:
    from hub.caliper.settings import EVENT_TYPES  # noqa: PLC0415

    assert {ours["type"] for _, ours in EMITTED} == set(EVENT_TYPES)


def test_the_same_source_event_always_gives_the_same_ids() -> None:
    event = submission_event()
    first = [e.to_json() for e in map_event(event, context())]
    again = [e.to_json() for e in map_event(event, context())]
    assert [e["id"] for e in first] == [e["id"] for e in again]
    assert len({e["id"] for e in first}) == 2  # two Caliper events: two ids
    other = map_event(submission_event(grade=9.0), context())
    assert other[0].id == first[0]["id"]  # the same submission (same aggregate and version)
    assert map_event(sso_event("n2"), context())[0].id != map_event(sso_event(), context())[0].id


def test_a_quiz_is_an_assessment_and_other_work_an_assignable_resource() -> None:
    quiz = context(**{"a-quiz": {"assignment_type": "Quiz", "max_points": 20}})
    submitted, graded = map_event(submission_event(), quiz)
    assert (submitted.type, submitted.profile) == ("AssessmentEvent", "AssessmentProfile")
    assert graded.to_json()["generated"]["maxScore"] == 20.0
    essay = context(**{"a-quiz": {"assignment_type": "essay"}})
    assert map_event(submission_event(), essay)[0].type == "AssignableEvent"


def test_a_submission_of_an_unknown_learner_uses_the_id_they_will_have() -> None:
    unknown = Context(Iris(TENANT), People(Iris(TENANT)), Lookups())
    (submitted,) = map_event(submission_event(grade=None), unknown)
    assert submitted.to_json()["actor"]["id"] == f"urn:hub:{TENANT}:person:{hex_of(SAM)}"


def test_pseudonymous_events_hold_no_name_email_or_source_id() -> None:
    key = "tenant-pseudonym-key"
    for reader, event in [
        (None, sso_event()),
        (None, submission_event()),
        (read_lti_launch, launch()),
    ]:
        ctx = context(pseudonym_key=key)
        events = reader(event, ctx) if reader else map_event(event, ctx)
        raw = json.dumps([e.to_json() for e in events])
        hub_ids = (hex_of(SAM), hex_of(event.originator_id))  # uuid5s of external ids
        for secret in ("sam@example.org", "Sam", "lti-sub-1", '"sam"', *hub_ids):
            assert secret not in raw
        assert f"urn:hub:{TENANT}:pseudonym:" in raw


def test_every_source_topic_names_a_real_event_class() -> None:
    for topic in SOURCES:
        cls = resolve_topic(topic)
        assert cls.__qualname__ == qualname_of(topic)


def test_wiring_a_new_source_is_one_table_entry() -> None:
    table = {**SOURCES, "tests.caliper.test_mapping:LtiLaunch": READY["ToolLaunchEvent"]}
    events = map_event(launch(), context(), table)
    assert [(e.type, e.action) for e in events] == [
        ("ToolLaunchEvent", "Launched"),
        ("SessionEvent", "LoggedIn"),
    ]
    assert map_event(launch(), context()) == []  # not in the default table
    federated = events[0].to_json()["federatedSession"]
    assert federated["type"] == "LtiSession"
    assert federated["messageParameters"]["sub"] == "lti-sub-1"
