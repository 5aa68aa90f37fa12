"""Course sync on real parts: a loopback Spark API, the hub on a real nats-server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.course_sync import (
    SparkNotConnectedError,
    UnknownTenantError,
    connected_tenants,
    sync_courses,
    sync_tenant,
)
from connectors.schedule import DailySync, LastRun, due_at, next_slot, run_daily_sync
from connectors.spark_api import SparkApiError, SparkClients, SparkRetryableError
from hub.application import Hub
from hub.bootstrap import Runtime, build_runtime
from hub.domain.quests import quest_id, task_id
from hub.domain.spark import spark_connection_id
from hub.http import create_app, runtime_readiness
from hub.spark.connection import spark_connection
from infra.nats_client import NatsConnection
from infra.secrets import SecretBox
from infra.settings import Settings
from infra.sql import make_engine
from tests.connectors.spark_fake import FakeSpark, connect_spark, hub_cli, serve
from tests.connectors.world import wait_for
from tests.hub.http.live_server import live_server

KEY = "course sync tests"
BOX = SecretBox.from_text(KEY)
TENANT = "acme"
ESSAY: dict[str, Any] = {
    "id": "a-essay",
    "title": "Essay: How Plants Convert Sunlight",
    "description": "Write a 500-word essay explaining photosynthesis",
    "assignment_type": "essay",
    "estimated_hours": 3,
    "max_points": 100,
}
POSTER: dict[str, Any] = {
    "id": "a-poster",
    "title": "Draw the leaf",
    "assignment_type": "project",
    "estimated_hours": 12,
    "max_points": 50,
    "due_at": "2025-03-01T12:00:00Z",
}
HISTORY: dict[str, Any] = {"id": "a-hist", "title": "Civics in the 1900s", "max_points": 20}


@pytest.fixture
def fake() -> FakeSpark:
    made = FakeSpark()
    made.add_course(
        "c-bio",
        "Biology - Photosynthesis Unit",
        [ESSAY, POSTER],
        description="Learn how plants convert sunlight to energy",
        category="science",
        grade_level="9-12",
        duration_hours=20,
    )
    made.add_course("c-civ", "Civics", [HISTORY])
    return made


@pytest.fixture
def spark_url(fake: FakeSpark) -> Iterator[str]:
    with serve(fake) as url:
        yield url


@pytest.fixture
def clients() -> SparkClients:
    return SparkClients(BOX)


@pytest.fixture
def connected(hub: Hub, spark_url: str) -> Hub:
    connect_spark(hub, BOX, TENANT, spark_url)
    return hub


def log_position(hub: Hub) -> int:
    return hub.recorder.max_notification_id() or 0


def test_sync_creates_quests_and_tasks_with_the_seeds_pillar_and_xp(
    connected: Hub, clients: SparkClients
) -> None:
    report = sync_tenant(connected, clients, TENANT)

    assert (report.quests.created, report.quests.updated, report.quests.unchanged) == (2, 0, 0)
    assert (report.tasks.created, report.tasks.updated, report.tasks.unchanged) == (3, 0, 0)
    assert [i.title for i in report.tasks.items] == [
        "Essay: How Plants Convert Sunlight",
        "Draw the leaf",
        "Civics in the 1900s",
    ]
    assert report.position == log_position(connected)

    quest = connected.repository.get(quest_id(TENANT, "spark", "c-bio"))
    assert quest.details == {
        "title": "Biology - Photosynthesis Unit",
        "description": "Learn how plants convert sunlight to energy",
        "category": "science",
        "grade_level": "9-12",
        "duration_hours": 20.0,
        "assignment_ids": ["a-essay", "a-poster"],
    }
    essay = connected.repository.get(task_id(TENANT, "spark", "a-essay"))
    assert essay.quest_id == quest.id
    # Seed 000: "essay" -> communication; 3 hours * 100 / 2 = 150 XP.
    assert (essay.pillar, essay.xp) == ("communication", 150)
    assert essay.details["max_points"] == 100.0
    assert (essay.details["order"], essay.details["required"]) == (1, True)
    assert "due_at" not in essay.details
    poster = connected.repository.get(task_id(TENANT, "spark", "a-poster"))
    # "draw" -> art; 12 hours would be 600 XP, capped at 500; the due date is kept.
    assert (poster.pillar, poster.xp, poster.details["order"]) == ("art", 500, 2)
    assert poster.details["due_at"] == "2025-03-01T12:00:00+00:00"
    history = connected.repository.get(task_id(TENANT, "spark", "a-hist"))
    # No estimate: 2 hours -> 100 XP.
    assert (history.pillar, history.xp) == ("civics", 100)
    assert type(quest).__name__ == "Quest"
    assert [type(e).__qualname__ for e in connected.repository.event_store.get(quest.id)] == [
        "Quest.Synced"
    ]


def test_a_second_sync_of_unchanged_courses_records_nothing(
    connected: Hub, clients: SparkClients
) -> None:
    sync_tenant(connected, clients, TENANT)
    before = log_position(connected)

    report = sync_tenant(connected, clients, TENANT)

    assert log_position(connected) == before
    assert (report.quests.unchanged, report.tasks.unchanged) == (2, 3)
    assert report.quests.created + report.quests.updated == 0
    assert report.tasks.created + report.tasks.updated == 0
    assert report.position is None


def test_a_changed_assignment_is_updated_and_nothing_else(
    connected: Hub, clients: SparkClients, fake: FakeSpark
) -> None:
    sync_tenant(connected, clients, TENANT)
    fake.assignments["c-bio"][0] = {**ESSAY, "title": "Essay: Sunlight", "estimated_hours": 5}

    report = sync_tenant(connected, clients, TENANT)

    assert (report.tasks.created, report.tasks.updated, report.tasks.unchanged) == (0, 1, 2)
    (updated,) = [i for i in report.tasks.items if i.change == "updated"]
    assert (updated.spark_id, updated.title) == ("a-essay", "Essay: Sunlight")
    assert updated.changed_fields == ["estimated_hours", "title", "xp"]
    assert report.quests.unchanged == 2
    essay = connected.repository.get(task_id(TENANT, "spark", "a-essay"))
    assert (essay.title, essay.xp, essay.version) == ("Essay: Sunlight", 250, 2)
    events = connected.repository.event_store.get(essay.id)
    assert [type(e).__qualname__ for e in events] == ["Task.Synced", "Task.Updated"]


def test_a_new_assignment_updates_its_quest(
    connected: Hub, clients: SparkClients, fake: FakeSpark
) -> None:
    sync_tenant(connected, clients, TENANT)
    fake.add_course("c-civ", "Civics", [HISTORY, {"id": "a-vote", "title": "Vote!"}])

    report = sync_tenant(connected, clients, TENANT)

    assert (report.quests.updated, report.tasks.created) == (1, 1)
    quest = connected.repository.get(quest_id(TENANT, "spark", "c-civ"))
    assert quest.details["assignment_ids"] == ["a-hist", "a-vote"]


def test_a_dry_run_reports_the_same_and_records_nothing(
    connected: Hub, clients: SparkClients, fake: FakeSpark
) -> None:
    before = log_position(connected)
    dry = sync_tenant(connected, clients, TENANT, dry_run=True)
    assert log_position(connected) == before
    assert dry.dry_run

    real = sync_tenant(connected, clients, TENANT)
    assert dry.model_dump(exclude={"dry_run", "position"}) == real.model_dump(
        exclude={"dry_run", "position"}
    )
    assert "would sync" in next(dry.lines())

    fake.assignments["c-bio"][1] = {**POSTER, "max_points": 60}
    after_real = log_position(connected)
    dry = sync_tenant(connected, clients, TENANT, dry_run=True)
    assert (dry.tasks.updated, dry.tasks.items[1].changed_fields) == (1, ["max_points"])
    assert log_position(connected) == after_real


def run_events(hub: Hub) -> list[Any]:
    """The course sync runs recorded on the tenant's Spark connection."""
    events = hub.repository.event_store.get(spark_connection_id(TENANT))
    return [e for e in events if type(e).__qualname__.startswith("SparkConnection.CourseSync")]


def test_spark_failing_midway_writes_nothing_but_the_failed_run(
    connected: Hub, clients: SparkClients, fake: FakeSpark
) -> None:
    before = log_position(connected)
    del fake.assignments["c-civ"]  # the second course's assignments answer 404
    with pytest.raises(SparkApiError) as caught:
        sync_tenant(connected, clients, TENANT)
    assert caught.value.request == "GET /api/courses/c-civ/assignments"
    assert log_position(connected) == before + 1
    (failed,) = run_events(connected)
    assert type(failed).__qualname__ == "SparkConnection.CourseSyncFailed"
    assert failed.error == str(caught.value)
    assert "c-civ" in failed.error
    assert failed.started_at <= failed.finished_at
    assert list(connected.repository.event_store.get(quest_id(TENANT, "spark", "c-bio"))) == []


def test_a_sync_that_changes_something_records_its_run_with_counts(
    connected: Hub, clients: SparkClients, fake: FakeSpark
) -> None:
    first = sync_tenant(connected, clients, TENANT)
    sync_tenant(connected, clients, TENANT, dry_run=True)
    sync_tenant(connected, clients, TENANT)  # unchanged: no run recorded, as a SIS job
    fake.assignments["c-bio"][0] = {**ESSAY, "title": "Essay: Sunlight"}
    second = sync_tenant(connected, clients, TENANT)

    runs = run_events(connected)
    assert [type(e).__qualname__ for e in runs] == ["SparkConnection.CourseSyncSucceeded"] * 2
    assert runs[0].stats == {
        "quests": {"created": 2, "updated": 0, "unchanged": 0},
        "tasks": {"created": 3, "updated": 0, "unchanged": 0},
    }
    assert runs[1].stats["tasks"] == {"created": 0, "updated": 1, "unchanged": 2}
    assert runs[0].job_id != runs[1].job_id
    assert first.position is not None
    assert second.position == log_position(connected)  # the run's event is the last write


def test_spark_unreachable_is_retryable(hub: Hub, clients: SparkClients) -> None:
    connect_spark(hub, BOX, TENANT, "http://127.0.0.1:9")  # discard port: refused
    with pytest.raises(SparkRetryableError):
        sync_tenant(hub, clients, TENANT)


def test_unknown_tenant_and_tenant_without_connection(hub: Hub, clients: SparkClients) -> None:
    with pytest.raises(UnknownTenantError):
        sync_tenant(hub, clients, "nobody")
    hub.register_tenant("plain", "Plain", BOX)
    with pytest.raises(SparkNotConnectedError):
        sync_tenant(hub, clients, "plain")


def test_connected_tenants_are_found_by_subject(hub: Hub, spark_url: str) -> None:
    hub.register_tenant("plain", "Plain", BOX)
    connect_spark(hub, BOX, "beta", spark_url)
    connect_spark(hub, BOX, TENANT, spark_url)
    assert connected_tenants(hub) == [TENANT, "beta"]


def test_tenants_are_kept_apart(hub: Hub, spark_url: str, clients: SparkClients) -> None:
    connect_spark(hub, BOX, TENANT, spark_url)
    connect_spark(hub, BOX, "beta", spark_url)
    beta = spark_connection(hub, "beta")
    assert beta is not None
    with clients.open(beta) as api:
        sync_courses(hub, api, "beta")
    report = sync_tenant(hub, clients, TENANT)
    assert report.quests.created == 2  # beta's quests are beta's
    assert quest_id("beta", "spark", "c-bio") != quest_id(TENANT, "spark", "c-bio")


# The daily schedule ---------------------------------------------------------------------


@pytest.fixture
def last_run(env: dict[str, str], nats_url: str, stream_prefix: str) -> Iterator[LastRun]:
    yield LastRun(env)
    connection = NatsConnection.shared(nats_url)
    js = connection.client.jetstream()
    with suppress(Exception):
        connection.run(lambda: js.delete_key_value(f"{stream_prefix}_schedules"), timeout=10)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_the_next_slot_is_the_first_after_the_last_run() -> None:
    two = time(2, 0)
    day = datetime(2025, 1, 15, tzinfo=UTC)
    assert next_slot(day.replace(hour=1, minute=59), two) == day.replace(hour=2)
    assert next_slot(day.replace(hour=2), two) == day.replace(hour=2) + timedelta(days=1)
    # Down at the slot: the run is due (in the past) as soon as it is back.
    assert due_at(day.replace(hour=2) - timedelta(days=2), two) < day


def test_the_daily_sync_runs_once_a_day_and_survives_a_restart(
    env: dict[str, str], connected: Hub, clients: SparkClients, last_run: LastRun, fake: FakeSpark
) -> None:
    clock = Clock(datetime(2025, 1, 15, 1, 0, tzinfo=UTC))
    daily = DailySync(connected, clients, last_run, at=time(2, 0), clock=clock)
    assert not daily.run_if_due()  # never ran: waits for the slot
    assert daily.seconds_until_due() == 3600
    clock.now = clock.now.replace(hour=2, minute=0, second=1)
    assert daily.run_if_due()
    assert [r.quests.created for r in daily.reports] == [2]
    assert last_run.get() == clock.now
    clock.now += timedelta(hours=5)
    assert not daily.run_if_due()
    restarted = DailySync(connected, clients, LastRun(env), clock=clock)
    assert not restarted.run_if_due()  # the day's run is recorded in NATS
    clock.now += timedelta(days=1)
    assert restarted.run_if_due()
    assert restarted.reports[0].quests.unchanged == 2
    assert len([r for r in fake.api_requests if r == "GET /api/courses"]) == 2


def test_one_of_two_processes_runs_the_due_sync_under_its_lease(
    env: dict[str, str], connected: Hub, last_run: LastRun, fake: FakeSpark
) -> None:
    today = datetime(2025, 1, 15, 2, 0, 5, tzinfo=UTC)
    last_run.put(today - timedelta(days=1))
    stop = threading.Event()
    runners = [
        threading.Thread(
            target=run_daily_sync,
            args=(env, stop),
            kwargs={
                "at": time(2, 0),
                "clients": SparkClients(BOX),
                "clock": Clock(today),
                "lease_ttl": 1.5,
                "owner": f"process-{n}",
            },
            daemon=True,
        )
        for n in range(2)
    ]
    for runner in runners:
        runner.start()
    try:
        wait_for(lambda: last_run.get() == today, "the daily sync to run")
    finally:
        stop.set()
        for runner in runners:
            runner.join(timeout=30)
    assert not any(runner.is_alive() for runner in runners)
    assert fake.api_requests.count("GET /api/courses") == 1
    assert connected.repository.get(quest_id(TENANT, "spark", "c-bio")).details["title"]


def test_hub_spark_sync_prints_the_report_and_a_dry_run_records_nothing(
    env: dict[str, str], connected: Hub
) -> None:
    before = log_position(connected)
    dry = hub_cli("spark", "sync", "--tenant", TENANT, "--dry-run", env=env, secret_key=KEY)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[0] == (
        "acme: would sync quests 2 created, 0 updated, 0 unchanged; "
        "tasks 3 created, 0 updated, 0 unchanged"
    )
    assert "created   task a-essay: Essay: How Plants Convert Sunlight" in dry.stdout
    assert log_position(connected) == before

    real = hub_cli("spark", "sync", env=env, secret_key=KEY)  # every connected tenant
    assert real.returncode == 0, real.stderr
    assert real.stdout.splitlines()[0].startswith("acme: synced quests 2 created")
    assert log_position(connected) > before

    unknown = hub_cli("spark", "sync", "--tenant", "nobody", env=env, secret_key=KEY)
    assert unknown.returncode == 1
    assert "no tenant 'nobody' is registered" in unknown.stderr


# The admin endpoint ---------------------------------------------------------------------

ADMIN = {"Authorization": "Bearer the-admin-token-for-sync-tests"}


@pytest.fixture
def admin_api(
    nats_url: str, stream_prefix: str, tmp_path: Path
) -> Iterator[tuple[httpx.Client, Runtime]]:
    settings = Settings(data_dir=tmp_path, stream_prefix=stream_prefix, secret_key=KEY)
    runtime = build_runtime(settings, nats_url)
    engine = make_engine(f"sqlite:///{tmp_path / 'read.sqlite3'}")
    app = create_app(
        runtime,
        readiness=runtime_readiness(runtime, engine),
        admin_token=ADMIN["Authorization"].removeprefix("Bearer "),
    )
    try:
        with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
            yield client, runtime
    finally:
        engine.dispose()
        runtime.hub.close()


SYNC = "/api/admin/spark/sync/courses"


def test_the_admin_endpoint_needs_the_admin_token(
    admin_api: tuple[httpx.Client, Runtime],
) -> None:
    client, _ = admin_api
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        answer = client.post(SYNC, json={"tenant": TENANT}, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"


def test_the_admin_endpoint_answers_with_the_report(
    admin_api: tuple[httpx.Client, Runtime], spark_url: str
) -> None:
    client, runtime = admin_api
    connect_spark(runtime.hub, BOX, TENANT, spark_url)
    before = log_position(runtime.hub)

    dry = client.post(SYNC, json={"tenant": TENANT, "dry_run": True}, headers=ADMIN)
    assert dry.status_code == 200, dry.text
    assert log_position(runtime.hub) == before
    real = client.post(SYNC, json={"tenant": TENANT}, headers=ADMIN)
    assert real.status_code == 200, real.text

    body = real.json()
    assert (body["tenant"], body["dry_run"], body["position"]) == (
        TENANT,
        False,
        log_position(runtime.hub),
    )
    assert {k: body["quests"][k] for k in ("created", "updated", "unchanged")} == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
    }
    assert body["tasks"]["items"][0] == {
        "spark_id": "a-essay",
        "title": "Essay: How Plants Convert Sunlight",
        "change": "created",
        "changed_fields": [],
    }
    assert {**dry.json(), "dry_run": False, "position": body["position"]} == body
    again = client.post(SYNC, json={"tenant": TENANT}, headers=ADMIN).json()
    assert (again["tasks"]["unchanged"], again["position"]) == (3, None)


def test_the_admin_endpoint_answers_problems(
    admin_api: tuple[httpx.Client, Runtime], spark_url: str
) -> None:
    client, runtime = admin_api
    unknown = client.post(SYNC, json={"tenant": "nobody"}, headers=ADMIN)
    assert (unknown.status_code, unknown.json()["type"]) == (
        404,
        "https://hub.example/problems/not-found",
    )
    runtime.hub.register_tenant("plain", "Plain", BOX)
    plain = client.post(SYNC, json={"tenant": "plain"}, headers=ADMIN)
    assert (plain.status_code, plain.json()["type"].rsplit("/", 1)[1]) == (
        404,
        "spark-not-connected",
    )
    bad = client.post(SYNC, json={"tenant": "Not A Slug"}, headers=ADMIN)
    assert bad.status_code == 422

    connect_spark(runtime.hub, BOX, "down", "http://127.0.0.1:9")
    down = client.post(SYNC, json={"tenant": "down"}, headers=ADMIN)
    assert down.status_code == 502
    problem = down.json()
    assert problem["type"].endswith("/spark-unreachable")
    assert problem["failed_request"] == "GET /api/courses"
    assert "nothing was recorded" in problem["detail"]

    connect_spark(runtime.hub, BOX, "wrongkey", spark_url, api_key="not-the-key")
    refused = client.post(SYNC, json={"tenant": "wrongkey"}, headers=ADMIN)
    assert refused.status_code == 502
    assert refused.json()["type"].endswith("/spark-refused")
    assert refused.json()["spark_status"] == 401
    assert "not-the-key" not in refused.text

    connect_spark(runtime.hub, BOX, "keyless", spark_url, api_key=None)
    keyless = client.post(SYNC, json={"tenant": "keyless"}, headers=ADMIN)
    assert keyless.status_code == 409
    assert keyless.json()["type"].endswith("/spark-connection-unusable")
    assert "no API key yet" in keyless.json()["detail"]


def test_the_versioned_admin_path_is_the_same_operation(
    admin_api: tuple[httpx.Client, Runtime], spark_url: str
) -> None:
    client, runtime = admin_api
    connect_spark(runtime.hub, BOX, TENANT, spark_url)
    versioned = "/api/v1/admin/spark/sync/courses"
    assert client.post(versioned, json={"tenant": TENANT}).status_code == 401
    dry = client.post(versioned, json={"tenant": TENANT, "dry_run": True}, headers=ADMIN)
    assert dry.status_code == 200, dry.text
    seed_path = client.post(SYNC, json={"tenant": TENANT, "dry_run": True}, headers=ADMIN)
    assert dry.json()["quests"] == seed_path.json()["quests"]
    assert dry.json()["dry_run"] is True
