"""The Spark flow end to end, through real HTTP: the simulator as Spark, the hub's HTTP app,
connectors and projections on a real nats-server and SQLite.

Course sync from the simulator (admin API), SSO sign-in, a roster change, a signed submission with
file URLs on the simulator and a grade; then the evidence in the portfolio read model,
and the grade at Spark's `/grades` exactly once, after Spark was down for a while.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from time import monotonic, sleep
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import Engine

from connectors.registry import start_connectors
from hub.bootstrap import Runtime, build_runtime, eventsourcing_env
from hub.dev import (
    SparkSimulator,
    roster_payload,
    send_webhook,
    sso_link,
    sso_token,
    submission_payload,
    url_file,
)
from hub.domain.learners import learner_id
from hub.domain.quests import quest_id
from hub.http.app import build_http_app
from hub.spark.connection import SparkSecrets, connect_spark
from hub.spark.sessions import COOKIE_NAME
from infra.nats_client import NatsConnection
from infra.settings import Settings
from infra.sql import make_engine
from projections import projection_statuses
from projections.portfolio import Portfolio, portfolio
from projections.registry import start_projections
from tests.hub.http.live_server import live_server

T = TypeVar("T")
TENANT = "school"
SUB = "spark-sam"
WAIT_S = 60.0
ADMIN_TOKEN = "the end-to-end test's admin token"


def eventually(check: Callable[[], T | None], what: str, timeout: float = WAIT_S) -> T:
    """`check()`'s first truthy value, polled; fails the test after `timeout` seconds."""
    deadline = monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert monotonic() < deadline, f"timed out waiting for {what}"
        sleep(0.05)


@dataclass
class Flow:
    runtime: Runtime
    spark: SparkSimulator
    secrets: SparkSecrets
    hub_url: str
    engine: Engine

    def portfolio(self) -> Portfolio | None:
        return portfolio(self.engine, TENANT, learner_id(TENANT, "spark", SUB))


@pytest.fixture
def flow(
    tmp_path: Path, nats_url: str, stream_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flow]:
    database_url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    # Connectors read these from the process's environment: blobs in the data folder, the
    # hub's key, and a passback schedule that retries in milliseconds rather than seconds.
    for name, value in {
        "HUB_DATA_DIR": str(tmp_path),
        "HUB_SECRET_KEY": "the end-to-end test's secret key",
        "HUB_PASSBACK_RETRY_BASE_S": "0.05",
        "HUB_PASSBACK_RETRY_CAP_S": "0.2",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings(
        data_dir=tmp_path,
        stream_prefix=stream_prefix,
        database_url=database_url,
        demo_tenant=None,
    )
    runtime = build_runtime(settings, nats_url)
    stop = threading.Event()
    threads: list[threading.Thread] = []
    engine = make_engine(database_url)
    try:
        with SparkSimulator() as spark:
            runtime.hub.register_tenant(TENANT, "School", runtime.box)
            secrets = connect_spark(
                runtime.hub,
                runtime.box,
                TENANT,
                spark.url,
                allowed_evidence_hosts=["127.0.0.1"],
                api_key=spark.api_key,
            )
            env = eventsourcing_env(settings, nats_url)
            threads += start_projections(env, database_url, stop)
            threads += start_connectors(env, stop)
            app = build_http_app(
                runtime,
                admin_token=ADMIN_TOKEN,
                projection_statuses=projection_statuses,
                portfolio=portfolio,
            )
            with live_server(app) as hub_url:
                yield Flow(runtime, spark, secrets, hub_url, engine)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert not [t.name for t in threads if t.is_alive()]
        engine.dispose()
        runtime.hub.close()
        connection = NatsConnection.shared(nats_url)
        js = connection.client.jetstream()
        with suppress(Exception):
            connection.run(lambda: js.delete_key_value(f"{stream_prefix}_leases"), timeout=10)


def test_spark_end_to_end(flow: Flow) -> None:
    spark, hub_url = flow.spark, flow.hub_url

    with httpx.Client(base_url=hub_url, timeout=10, follow_redirects=False) as client:
        # Course sync, through the admin API: the simulator's courses become quests and tasks.
        synced = client.post(
            "/api/v1/admin/spark/sync/courses",
            json={"tenant": TENANT},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert synced.status_code == 200, synced.text
        report = synced.json()
        assert (report["quests"]["created"], report["tasks"]["created"]) == (5, 10)
        assert spark.state.api_calls == 6  # the course list, then each course's assignments

        # SSO: Spark's link signs Sam in; the dashboard shows Sam at once.
        token = sso_token(
            flow.secrets.sso_secret,
            sub=SUB,
            email="sam@example.org",
            given_name="Sam",
            family_name="Rivera",
            course_ids=["course_bio"],
        )
        signed_in = client.get(sso_link(hub_url, TENANT, token))
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["Location"] == "/dashboard"
        cookie = signed_in.cookies[COOKIE_NAME]
        dashboard = client.get("/dashboard", headers={"Cookie": f"{COOKIE_NAME}={cookie}"})
        assert dashboard.status_code == 200
        assert "Sam" in dashboard.text
        assert client.get(sso_link(hub_url, TENANT, token)).status_code == 401  # single use

        # Roster: Spark enrols Sam in the art course too.
        enrolled = send_webhook(
            hub_url,
            TENANT,
            "roster",
            roster_payload(user=SUB, course="course_art", action="enroll"),
            flow.secrets.webhook_secret,
            client=client,
        )
        assert enrolled.status_code == 202, enrolled.text

        # Spark's /grades is down for a while; the submission carries a grade.
        spark.fail_grades(503, times=3)
        payload = submission_payload(
            user=SUB,
            assignment="assignment_bio_lab",
            course="course_bio",
            text="My chromatography results",
            files=[
                url_file(spark.file_url("essay.pdf")),
                url_file(spark.file_url("wrong-type.pdf")),
            ],
            grade=95,
        )
        first = send_webhook(
            hub_url, TENANT, "submission", payload, flow.secrets.webhook_secret, client=client
        )
        assert first.status_code == 202, first.text
        submission_id = first.json()["submission_id"]
        # Spark retries the same delivery: the same submission, nothing new.
        again = send_webhook(
            hub_url, TENANT, "submission", payload, flow.secrets.webhook_secret, client=client
        )
        assert again.status_code == 202
        assert again.json()["submission_id"] == submission_id

    # The evidence reaches the portfolio read model.
    def completed() -> Portfolio | None:
        found = flow.portfolio()
        if found and any(task.evidence for quest in found.quests for task in quest.tasks):
            return found
        return None

    shown = eventually(completed, "the evidence in the portfolio")
    assert shown.learner is not None
    assert (shown.learner.name, shown.learner.email) == ("Sam Rivera", "sam@example.org")
    quests = {quest.quest_id: quest for quest in shown.quests}
    bio, art = quest_id(TENANT, "spark", "course_bio"), quest_id(TENANT, "spark", "course_art")
    assert set(quests) == {bio, art}
    assert quests[bio].title == "Biology - Photosynthesis Unit"
    assert (quests[art].enrolled, quests[art].tasks) == (True, ())
    [task] = quests[bio].tasks
    assert (task.title, task.pillar, task.xp) == ("Biology Lab: Leaf Chromatography", "stem", 100)
    assert (task.submission_id, task.text) == (submission_id, "My chromatography results")
    # The PDF is stored with its checksum; the PNG declared as a PDF is not evidence.
    [stored] = task.evidence
    essay = spark.state.files["essay.pdf"].content
    assert stored["filename"] == "essay.pdf"
    assert stored["blob"] == hashlib.sha256(essay).hexdigest()
    assert shown.xp_by_pillar == {"stem": 100}
    # Sam's dashboard shows the completed task and the XP (from the portfolio read model).
    with httpx.Client(base_url=hub_url, timeout=10) as client:
        page = client.get("/dashboard", headers={"Cookie": f"{COOKIE_NAME}={cookie}"})
    assert page.status_code == 200
    assert "Biology Lab: Leaf Chromatography" in page.text
    assert "Total: 100 XP" in page.text
    downloads = {d.name for d in spark.downloads() if d.status == 200}
    assert downloads == {"essay.pdf", "wrong-type.pdf"}

    # The grade arrives at Spark exactly once, after three failed attempts.
    [grade] = eventually(spark.delivered_grades, "the grade at Spark's /grades")
    assert grade.body["spark_user_id"] == SUB
    assert grade.body["spark_assignment_id"] == "assignment_bio_lab"
    assert (grade.body["score"], grade.body["max_score"]) == (95, 100)
    attempts = spark.grades()
    assert [a.status for a in attempts] == [503, 503, 503, 200]
    assert len({a.idempotency_key for a in attempts}) == 1
    assert attempts[0].idempotency_key
