"""AGS scores and NRPS rosters, the hub as tool, against the tests' own platform.

The `ltitool` process application and its delivery loop run for the whole module on
the module's hub; a completion is recorded in the `progress` log as the progress
connector records it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import closing, suppress
from typing import Any

import httpx
import pytest
from eventsourcing.application import AggregateNotFoundError

from connectors.deliveries import RetrySchedule, redrive
from connectors.domain import Progress, progress_id
from connectors.lti_ags import CONNECTOR as SCORES
from connectors.lti_ags import scores_url
from connectors.lti_nrps import CONNECTOR as ROSTERS
from connectors.lti_nrps import roster_id
from connectors.lti_services import NAME, SPEC, run_deliveries
from connectors.lti_token import ToolTokens
from connectors.runner import Backoff, UpstreamLog
from hub.bootstrap import Runtime, eventsourcing_env
from hub.domain.deliveries import DEAD, DELIVERED, delivery_id
from hub.domain.learners import Identity, identity_id
from hub.domain.lti_tool import (
    PlatformRegistration,
    context_key,
    person_key,
    registration_id,
    resource_link_id,
)
from hub.domain.quests import Quest, Task, quest_id
from hub.lti.keys import LtiKeys
from infra.nats_client import NatsConnection
from schemas.lti_tool import SCOPE_SCORE
from tests.connectors.world import Logs, running
from tests.lti.tool.conftest import launch
from tests.lti.tool.platform_server import AGS_SCOPES, LTI, Platform, user

AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
FAST = RetrySchedule(base_s=0.01, factor=2, cap_s=0.05, max_attempts=3)


@pytest.fixture(scope="module")
def env(runtime: Runtime) -> Iterator[dict[str, str]]:
    settings = runtime.settings
    yield {**eventsourcing_env(settings, runtime.nats_url), "HUB_DATA_DIR": str(settings.data_dir)}
    connection = NatsConnection.shared(runtime.nats_url)
    js = connection.client.jetstream()
    with suppress(Exception):
        connection.run(lambda: js.delete_key_value(f"{settings.stream_prefix}_leases"), timeout=10)


@pytest.fixture(scope="module")
def services(env: dict[str, str], platform: Platform) -> Iterator[Logs]:
    """The process application and the delivery loop, running."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def loop() -> None:
        try:
            run_deliveries(
                env, stop, retry=FAST, lease_ttl=1.5, backoff=Backoff(0.01, 0.1), idle_s=0.05
            )
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            errors.append(error)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    logs = Logs(env)
    try:
        with running(SPEC, env=env):
            yield logs
    finally:
        stop.set()
        thread.join(timeout=30)
        logs.close()
    assert not errors


@pytest.fixture(scope="module")
def task(runtime: Runtime) -> str:
    quest = Quest(tenant="acme", source="hub", external_id="q-1", details={"title": "Q"})
    made = Task(
        tenant="acme",
        source="hub",
        external_id="t-1",
        quest_id=quest.id,
        details={"title": "Poster", "pillar": "arts", "xp": 5, "max_points": 40},
    )
    runtime.hub.save(quest, made)
    return made.id


def launch_activity(
    client: httpx.Client, platform: Platform, sub: str, task: str, **claims: Any
) -> None:
    user(platform, sub, name="Stu Dent", email=f"{sub}@school.example")
    platform.next_launch = {
        LTI + "resource_link": {"id": f"rl-{task[-6:]}", "title": "Poster"},
        LTI + "custom": {"hub_task": task},
        **claims,
    }
    try:
        response = launch(client, platform, sub)
    finally:
        platform.next_launch = {}
    assert response.status_code == 303, response.text


def learner_of(runtime: Runtime, platform: Platform, sub: str) -> str:
    key = person_key(platform.issuer, platform.client_id, sub)
    identity: Identity = runtime.hub.repository.get(identity_id("acme", "lti", key))
    return identity.learner_id


def complete(env: dict[str, str], learner: str, task: str, grade: float | None) -> str:
    """`Progress.TaskCompleted` as the progress connector records it; the submission id."""
    submission = f"acme.Submission.{learner[-8:]}{task[-8:]}"
    with closing(UpstreamLog("progress", env)) as log:
        try:
            existing: Progress | None = log.repository.get(progress_id("acme", learner))
        except AggregateNotFoundError:
            existing = None
        progress = Progress.record(
            existing,
            progress_id("acme", learner),
            Progress.TaskCompleted,
            learner_id=learner,
            task_id=task,
            quest_id="",
            task_title="Poster",
            quest_title=None,
            pillar="arts",
            xp=5,
            evidence=[],
            evidence_rejected=[],
            text="",
            submitted_at="2026-11-22T01:00:00+00:00",
            grade=grade,
            source="spark",
            submission_id=submission,
        )
        log.save(progress)
    return submission


def link_of(platform: Platform, task: str) -> str:
    return resource_link_id("acme", platform.issuer, platform.client_id, "dep-1", f"rl-{task[-6:]}")


def registration(runtime: Runtime, platform: Platform) -> PlatformRegistration:
    found: PlatformRegistration = runtime.hub.repository.get(
        registration_id("acme", platform.issuer, platform.client_id)
    )
    return found


def test_a_token_is_fetched_with_our_assertion_once_and_reused_until_it_expires(
    runtime: Runtime, platform: Platform
) -> None:
    now = [1000.0]
    tokens = ToolTokens(LtiKeys(runtime.hub, runtime.box), clock=lambda: now[0])
    before = platform.token_requests

    first = tokens.token(registration(runtime, platform), [SCOPE_SCORE])
    again = tokens.token(registration(runtime, platform), [SCOPE_SCORE])
    now[0] += 3600
    renewed = tokens.token(registration(runtime, platform), [SCOPE_SCORE])

    assert first == again
    assert renewed != first
    assert platform.token_requests - before == 2


def test_a_completed_task_posts_its_score_to_the_platform_line_item(
    env: dict[str, str],
    client: httpx.Client,
    platform: Platform,
    runtime: Runtime,
    services: Logs,
    task: str,
) -> None:
    launch_activity(client, platform, "s-score", task)
    learner = learner_of(runtime, platform, "s-score")

    submission = complete(env, learner, task, grade=30.0)

    the_id = delivery_id("acme", SCORES, f"{submission}|{link_of(platform, task)}")
    services.wait(NAME, the_id, "score delivered", lambda d: d.status == DELIVERED)
    posted = [s for s in platform.scores if s["userId"] == "s-score"]
    assert posted == [
        {
            "lineitem": "li-1",
            "userId": "s-score",
            "scoreGiven": 30.0,
            "scoreMaximum": 40.0,
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
            "timestamp": "2026-11-22T01:00:00+00:00",
        }
    ]


def test_a_failing_platform_is_retried_then_dead_lettered_and_redriven(
    env: dict[str, str],
    client: httpx.Client,
    platform: Platform,
    runtime: Runtime,
    services: Logs,
    task: str,
) -> None:
    launch_activity(client, platform, "s-fail", task)
    learner = learner_of(runtime, platform, "s-fail")
    platform.score_failures[:] = [503, 400]

    submission = complete(env, learner, task, grade=12.0)

    the_id = delivery_id("acme", SCORES, f"{submission}|{link_of(platform, task)}")
    dead = services.wait(NAME, the_id, "dead-lettered", lambda d: d.status == DEAD)
    assert dead.attempts == 2  # 503 retried, then 400 is final
    assert redrive(services.reader(NAME), [the_id], by="test") == [the_id]
    services.wait(NAME, the_id, "delivered after redrive", lambda d: d.status == DELIVERED)
    assert [s["scoreGiven"] for s in platform.scores if s["userId"] == "s-fail"] == [12.0]


def test_no_score_is_scheduled_without_the_score_scope(
    env: dict[str, str],
    client: httpx.Client,
    platform: Platform,
    runtime: Runtime,
    services: Logs,
    task: str,
) -> None:
    unscored = Task(
        tenant="acme",
        source="hub",
        external_id="t-unscored",
        quest_id=runtime.hub.repository.get(task).quest_id,
        details={"title": "Sketch", "pillar": "arts", "xp": 5},
    )
    runtime.hub.save(unscored)
    ags = {"scope": [AGS_SCOPES[0]], "lineitem": f"{platform.base_url}/lineitems/li-2"}
    launch_activity(client, platform, "s-noscope", unscored.id, **{AGS: ags})
    launch_activity(client, platform, "s-marker", task)
    skipped = complete(env, learner_of(runtime, platform, "s-noscope"), unscored.id, grade=3.0)
    # Completions are processed in order: once the later one is delivered, the first is decided.
    marker = complete(env, learner_of(runtime, platform, "s-marker"), task, grade=1.0)

    marker_id = delivery_id("acme", SCORES, f"{marker}|{link_of(platform, task)}")
    services.wait(NAME, marker_id, "marker delivered", lambda d: d.status == DELIVERED)
    skipped_id = delivery_id("acme", SCORES, f"{skipped}|{link_of(platform, unscored.id)}")
    assert services.get(NAME, skipped_id) is None
    assert not [s for s in platform.scores if s["userId"] == "s-noscope"]


def test_a_launch_reads_the_course_roster_through_every_page(
    client: httpx.Client, platform: Platform, runtime: Runtime, services: Logs, task: str
) -> None:
    platform.members[:] = [
        {"user_id": f"m{i}", "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]}
        for i in range(5)
    ]

    nrps = {"context_memberships_url": f"{platform.base_url}/contexts/c-roster/memberships"}
    launch_activity(
        client,
        platform,
        "s-roster",
        task,
        **{LTI + "context": {"id": "c-roster", "title": "Chemistry"}, NRPS: nrps},
    )
    launch_activity(
        client,
        platform,
        "s-roster2",
        task,
        **{LTI + "context": {"id": "c-roster", "title": "Chemistry"}, NRPS: nrps},
    )

    key = context_key(platform.issuer, platform.client_id, "dep-1", "c-roster")
    quest = quest_id("acme", "lti", key)
    roster = services.wait(NAME, roster_id("acme", quest), "roster read", lambda r: bool(r.members))
    assert [m["user_id"] for m in roster.members] == ["m0", "m1", "m2", "m3", "m4"]
    deliveries = [
        e
        for e in services.events(NAME)
        if getattr(e, "connector", None) == ROSTERS and e.payload["quest_id"] == quest
    ]
    assert len(deliveries) == 1  # once a day per course, however many launches


def test_scores_url_keeps_the_line_item_query() -> None:
    assert scores_url("https://lms.example/li/7?type=1") == "https://lms.example/li/7/scores?type=1"


def test_a_refused_token_is_dropped_and_a_new_one_fetched(
    env: dict[str, str],
    client: httpx.Client,
    platform: Platform,
    runtime: Runtime,
    services: Logs,
    task: str,
) -> None:
    launch_activity(client, platform, "s-token", task)
    launch_activity(client, platform, "s-warm", task)
    warm = complete(env, learner_of(runtime, platform, "s-warm"), task, grade=1.0)
    warm_id = delivery_id("acme", SCORES, f"{warm}|{link_of(platform, task)}")
    services.wait(NAME, warm_id, "a token cached", lambda d: d.status == DELIVERED)
    platform.score_failures[:] = [401]
    before = platform.token_requests

    submission = complete(env, learner_of(runtime, platform, "s-token"), task, grade=7.0)

    the_id = delivery_id("acme", SCORES, f"{submission}|{link_of(platform, task)}")
    services.wait(NAME, the_id, "delivered", lambda d: d.status == DELIVERED)
    events = services.reader(NAME).repository.event_store.get(the_id)
    attempts = [(e.outcome, e.status_code) for e in events if hasattr(e, "outcome")]
    assert attempts == [("retrying", 401), ("delivered", 200)]
    assert platform.token_requests - before == 1  # the cached token dropped, a new one fetched
    assert [s["scoreGiven"] for s in platform.scores if s["userId"] == "s-token"] == [7.0]
