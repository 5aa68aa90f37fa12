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

from hub.caliper.activity import PageView, WebSession
from hub.caliper.iris import Iris, People, hex_of
from hub.caliper.mapping import READY, SOURCES, Context, Synced, map_event, qualname_of, read_score
from hub.domain.learners import learner_id
from hub.domain.lti_platform import LtiLaunch as PlatformLaunch
from hub.domain.lti_tool import LtiLaunch as ToolLaunch
from hub.domain.quests import quest_id, task_id
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

    def synced(self, aggregate_id: str) -> Synced | None:
        return SYNCED.get(aggregate_id)


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


# The LTI launches, page views and sign-outs as their handlers record them.

ISS = "https://lms.example.edu"
QUEST = quest_id(TENANT, "spark", "c-bio")
TASK = task_id(TENANT, "spark", "a-quiz")
SYNCED = {QUEST: Synced("spark", "c-bio"), TASK: Synced("spark", "a-quiz", QUEST)}


def tool_launch(*, task: str | None = TASK, state: str = "acme.s1") -> Any:
    """`LtiLaunch.Accepted` of the hub as a tool (the platform launched a task's link)."""
    launch = ToolLaunch(
        tenant=TENANT,
        state=state,
        nonce="n",
        registration_id=f"{TENANT}.LtiPlatform.{'f' * 32}",
        issuer=ISS,
        client_id="c1",
        login_hint="u1",
        target_link_uri="https://hub.example/launch",
        lti_message_hint=None,
        deployment_id="dep-1",
        issued_at=1,
    )
    link = f"{TENANT}.LtiResourceLink.{'e' * 32}"
    claims = {"iss": ISS, "sub": "lti-sub-1", "name": "Sam Learner", "email": "sam@example.org"}
    launch.accept(
        learner_id=SAM,
        role="student",
        matched_by="identity",
        message_type="LtiResourceLinkRequest",
        quest_id=QUEST,
        resource_link=link,
        task_id=task,
        claims=claims,
        verified={},
    )
    return launch.collect_events()[-1]


def platform_launch() -> Any:
    """`LtiLaunch.Accepted` of the hub as a platform (Sam launched a tool from a quest)."""
    claims = {"iss": "https://hub.example", "sub": SAM, "name": "Sam Learner"}
    return recorded(
        PlatformLaunch(
            TENANT, "h1", "tool-1", "dep-1", "LtiResourceLinkRequest", SAM, "link-1",
            hex_of(QUEST), claims, "s", "n",
        )
    )  # fmt: skip


def page_view(page: str = "portfolio", owner: str = SAM, quest: str = "") -> Any:
    return recorded(PageView(TENANT, SAM, page, owner, quest, "2025-01-15T14:35Z", "My work"))


def sign_out() -> Any:
    return recorded(WebSession(TENANT, SAM, 1_736_951_700))


@dataclass(frozen=True)
class ScorePosted:
    """A stand-in for a later score, which has not landed yet: only its fields matter."""

    originator_id: str
    originator_version: int
    timestamp: datetime
    source: str
    learner_key: str
    assignment_key: str
    course_key: str
    submitted_at: str
    submission_id: str
    score: float


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"caliperEvent{name}.json").read_text())
    return loaded


def all_events() -> list[tuple[str, dict[str, Any]]]:
    """(specification example, our event) for every event type and action the hub emits."""
    ctx = context(**{"a-quiz": {"assignment_type": "quiz", "max_points": 10, "title": "Quiz"}})
    plain = context()
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
    tool, lti_login, started = map_event(tool_launch(), plain)
    (launched,) = map_event(platform_launch(), ctx)
    navigated, viewed = map_event(page_view(), ctx)
    events = [
        ("SessionLoggedIn", login[0]),
        ("AssessmentSubmitted", assessment),
        ("GradeGraded", graded),
        ("AssignableActivated", assignable),
        ("ToolLaunchLaunched", tool),
        ("SessionLoggedIn", lti_login),
        ("AssignableActivated", started),
        ("ToolLaunchLaunched", launched),
        ("NavigationNavigatedToWebPage", navigated),
        ("ViewViewedDocument", viewed),
        ("SessionLoggedOut", map_event(sign_out(), ctx)[0]),
        ("GradeGraded", read_score(score, ctx)[0]),
    ]
    return [(name, event.to_json()) for name, event in events]


EMITTED = all_events()
OPTIONAL_SLOTS = {
    "group",
    "membership",
    "session",
    "federatedSession",
    "generated",
    "referrer",
    "target",
}


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


SOURCE_EVENTS = {
    "sign-in": sso_event,
    "submission": submission_event,
    "tool-launch": tool_launch,
    "platform-launch": platform_launch,
    "page-view": page_view,
    "dashboard-view": lambda: page_view("dashboard", "", QUEST),
    "sign-out": sign_out,
}


@pytest.mark.parametrize("make", SOURCE_EVENTS.values(), ids=SOURCE_EVENTS)
def test_pseudonymous_events_hold_no_name_email_or_source_id(make: Any) -> None:
    event = make()
    events = map_event(event, context(pseudonym_key="tenant-pseudonym-key"))
    assert events
    raw = json.dumps([e.to_json() for e in events])
    hub_ids = (hex_of(SAM), hex_of(event.originator_id))  # uuid5s of external ids
    for secret in ("sam@example.org", "Sam", "lti-sub-1", '"sam"', "My work", *hub_ids):
        assert secret not in raw
    assert f"urn:hub:{TENANT}:pseudonym:" in raw


@pytest.mark.parametrize("make", SOURCE_EVENTS.values(), ids=SOURCE_EVENTS)
def test_every_source_event_gives_the_same_distinct_ids_on_replay(make: Any) -> None:
    event = make()
    first = [e.to_json() for e in map_event(event, context())]
    again = [e.to_json() for e in map_event(event, context())]
    assert first == again
    assert len({e["id"] for e in first}) == len(first) >= 1
    for ours in first:
        validate_event(ours)


def test_every_source_topic_names_a_real_event_class() -> None:
    for topic in SOURCES:
        cls = resolve_topic(topic)
        assert cls.__qualname__ == qualname_of(topic)


def test_the_tool_and_the_platform_launch_share_a_name_but_not_a_reader() -> None:
    as_tool = [(e.type, e.action) for e in map_event(tool_launch(), context())]
    as_platform = [(e.type, e.action) for e in map_event(platform_launch(), context())]
    assert as_tool == [
        ("ToolLaunchEvent", "Launched"),
        ("SessionEvent", "LoggedIn"),
        ("AssignableEvent", "Started"),
    ]
    assert as_platform == [("ToolLaunchEvent", "Launched")]


def test_a_launch_into_the_hub_is_the_hub_launched_by_the_platform_in_its_course() -> None:
    tool, login, started = (e.to_json() for e in map_event(tool_launch(), context()))
    assert tool["object"]["id"] == login["object"]["id"] == f"urn:hub:{TENANT}:app:hub"
    assert tool["edApp"]["id"] == ISS
    assert tool["target"]["id"] == f"urn:hub:{TENANT}:link:{'e' * 32}"
    assert tool["group"] == {
        "id": f"urn:hub:{TENANT}:course:spark:c-bio",
        "type": "CourseSection",
        "courseNumber": "c-bio",
    }
    assert tool["federatedSession"]["type"] == "LtiSession"
    assert tool["federatedSession"]["messageParameters"]["sub"] == "lti-sub-1"
    assert login["federatedSession"] == tool["federatedSession"]
    assert login["session"]["type"] == "Session"
    assert login["federatedSession"]["id"] == login["session"]["id"] + ":lti"
    assert started["object"]["id"] == f"urn:hub:{TENANT}:assignment:spark:a-quiz"
    assert started["generated"]["assignee"] == tool["actor"]["id"]
    assert started["generated"]["startedAtTime"] == started["eventTime"]


def test_a_launch_of_no_task_or_an_unknown_task_starts_nothing() -> None:
    for task in (None, task_id(TENANT, "spark", "gone")):
        types = [e.type for e in map_event(tool_launch(task=task), context())]
        assert types == ["ToolLaunchEvent", "SessionEvent"]


def test_a_launch_from_the_hub_names_the_tool_and_the_link() -> None:
    (launched,) = (e.to_json() for e in map_event(platform_launch(), context()))
    assert launched["object"] == {
        "id": f"urn:hub:{TENANT}:tool:tool-1",
        "type": "SoftwareApplication",
    }
    assert launched["target"]["id"] == f"urn:hub:{TENANT}:platform-link:link-1"
    assert launched["edApp"]["id"] == f"urn:hub:{TENANT}:app:hub"
    assert launched["group"]["id"] == f"urn:hub:{TENANT}:course:spark:c-bio"


def test_a_dashboard_view_of_a_course_is_a_web_page_of_that_course() -> None:
    navigated, viewed = (
        e.to_json() for e in map_event(page_view("dashboard", "", QUEST), context())
    )
    course = f"urn:hub:{TENANT}:course:spark:c-bio"
    assert viewed["object"]["type"] == navigated["object"]["type"] == "WebPage"
    assert viewed["object"]["id"] == f"urn:hub:{TENANT}:page:dashboard"
    assert viewed["object"]["isPartOf"] == viewed["group"]["id"] == course
    portfolio = map_event(page_view(), context())[1].to_json()["object"]
    assert portfolio["id"] == f"urn:hub:{TENANT}:page:portfolio:{hex_of(SAM)}"
    assert "group" not in map_event(page_view(), context())[1].to_json()


def test_a_sign_out_ends_the_session_of_its_cookie() -> None:
    (out,) = (e.to_json() for e in map_event(sign_out(), context()))
    assert (out["type"], out["action"]) == ("SessionEvent", "LoggedOut")
    assert out["session"]["id"] == f"urn:hub:{TENANT}:session:{hex_of(sign_out().originator_id)}"
    assert out["session"]["endedAtTime"] == out["eventTime"]


def test_wiring_a_new_source_is_one_table_entry() -> None:
    score = ScorePosted(
        f"{TENANT}.Score.{'d' * 32}", 1, AT, "spark", "sam", "a-quiz", "c-bio", "2025-01-15",
        "x.Submission.e", 7,
    )  # fmt: skip
    assert map_event(score, context()) == []  # not in the default table
    table = {**SOURCES, "tests.caliper.test_mapping:ScorePosted": READY["GradeEvent"]}
    (graded,) = map_event(score, context(), table)
    assert (graded.type, graded.action) == ("GradeEvent", "Graded")
