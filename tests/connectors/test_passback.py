"""Grade passback on real parts: the hub and `passback` on nats-server, Spark on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.deliveries import DeliveryIndex, RetrySchedule, load_index, redrive
from connectors.passback import CONNECTOR, SPEC, DeliveryLog, Passback, run_deliveries
from connectors.runner import Backoff
from connectors.spark_api import SparkClients, box_from_env
from hub.application import Hub
from hub.domain.deliveries import DEAD, DELIVERED, RETRYING, delivery_id
from hub.domain.quests import Quest, Task, quest_id
from hub.domain.submissions import Submission
from infra.secrets import SecretBox
from tests.connectors.spark_fake import FakeSpark, connect_spark, hub_cli, serve
from tests.connectors.world import Logs, running, wait_for

BOX = SecretBox.from_text("passback tests")
TENANT = "acme"
FAST = RetrySchedule(base_s=0.01, factor=2, cap_s=0.05, max_attempts=8)


@pytest.fixture
def fake() -> FakeSpark:
    return FakeSpark()


@pytest.fixture
def spark_url(fake: FakeSpark) -> Iterator[str]:
    with serve(fake) as url:
        yield url


@pytest.fixture
def connected(hub: Hub, spark_url: str) -> Hub:
    connect_spark(hub, BOX, TENANT, spark_url)
    return hub


def submit(
    hub: Hub,
    user: str,
    assignment: str = "a-essay",
    *,
    grade: float | None = 95.5,
    tenant: str = TENANT,
    submitted_at: str = "2025-01-15T14:30:00+00:00",
) -> str:
    """`Submission.Received` as the webhook records it; the id of its grade's delivery."""
    submission = Submission(
        tenant=tenant,
        source="spark",
        learner_key=user,
        assignment_key=assignment,
        submitted_at=submitted_at,
        course_key="c-bio",
        text="My essay.",
        files=[],
        grade=grade,
        verified={"signature": "hmac-sha256", "body": {}},
    )
    hub.save(submission)
    return delivery_id(tenant, CONNECTOR, str(submission.id))


class DeliveryLoop:
    """`run_deliveries` in a thread, with the tests' box and quick retries."""

    def __init__(self, env: Mapping[str, str], retry: RetrySchedule = FAST) -> None:
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(env, retry), daemon=True)
        self._thread.start()

    def _run(self, env: Mapping[str, str], retry: RetrySchedule) -> None:
        try:
            run_deliveries(
                env,
                self.stop_event,
                retry=retry,
                # Spark's budget is not what these tests are about (test_spark_api's is).
                clients=SparkClients(BOX, limit_per_minute=60_000, burst=1000),
                lease_ttl=1.5,
                backoff=Backoff(initial=0.01, maximum=0.1),
                idle_s=0.05,
            )
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            self.error = error

    def stop(self) -> None:
        self.stop_event.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the delivery loop did not stop"
        if self.error is not None:
            raise self.error


@contextmanager
def passback(env: Mapping[str, str], retry: RetrySchedule = FAST) -> Iterator[None]:
    """The `passback` process application and its delivery loop, both running."""
    loop = DeliveryLoop(env, retry)
    try:
        with running(SPEC, env=env):
            yield
    finally:
        loop.stop()


def delivery(logs: Logs, the_id: str, status: str) -> Any:
    return logs.wait("passback", the_id, f"{the_id} {status}", lambda d: d.status == status)


def attempts(logs: Logs, the_id: str) -> int:
    found = logs.get("passback", the_id)
    return 0 if found is None else int(found.attempts)


def events_of(logs: Logs, the_id: str) -> list[Any]:
    return list(logs.reader("passback").repository.event_store.get(the_id))


def test_a_graded_submission_is_passed_back_once(
    env: dict[str, str], connected: Hub, fake: FakeSpark, logs: Logs, spark_url: str
) -> None:
    quest = Quest(tenant=TENANT, source="spark", external_id="c-bio", details={"title": "Bio"})
    task = Task(
        tenant=TENANT,
        source="spark",
        external_id="a-essay",
        quest_id=quest.id,
        details={"title": "Essay", "max_points": 50},
    )
    connected.save(quest, task)
    assert quest.id == quest_id(TENANT, "spark", "c-bio")
    with passback(env):
        graded = submit(connected, "u-1")
        unknown_task = submit(connected, "u-2", "a-unknown", grade=7)
        ungraded = submit(connected, "u-3", grade=None)
        done = delivery(logs, graded, DELIVERED)
        delivery(logs, unknown_task, DELIVERED)

    assert fake.delivered() == {graded: 1, unknown_task: 1}
    assert logs.get("passback", ungraded) is None
    by_key = {g.idempotency_key: g.body for g in fake.grades()}
    assert by_key[graded] == {
        "spark_user_id": "u-1",
        "spark_assignment_id": "a-essay",
        "score": 95.5,
        "max_score": 50.0,  # the synced task's max points
        "completed_at": "2025-01-15T14:30:00Z",
    }
    assert by_key[unknown_task]["max_score"] == 100.0  # no task known: out of 100
    assert (done.attempts, done.connector, done.target) == (1, CONNECTOR, f"{spark_url}/grades")
    names = [type(e).__qualname__ for e in events_of(logs, graded)]
    assert names == ["Delivery.Scheduled", "Delivery.Attempted"]
    attempted = events_of(logs, graded)[-1]
    assert (attempted.outcome, attempted.status_code, attempted.error) == (DELIVERED, 200, "")
    # The scheduler's index forgets what was delivered; the listing's keeps it.
    pending_only, everything = DeliveryIndex(keep_delivered=False), DeliveryIndex()
    for event in events_of(logs, graded):
        pending_only.apply(event)
        everything.apply(event)
    assert (pending_only.entries(), [e.status for e in everything.entries()]) == ([], [DELIVERED])


def test_a_tenant_without_spark_connection_gets_no_delivery(
    env: dict[str, str], hub: Hub, logs: Logs
) -> None:
    hub.register_tenant("plain", "Plain", BOX)
    with passback(env), closing(Passback(env, hub=hub)) as reader:
        lost = submit(hub, "u-1", tenant="plain")
        position = hub.recorder.max_notification_id() or 0
        wait_for(
            lambda: (reader.recorder.max_tracking_id("hub") or 0) >= position,
            "passback to pass the submission",
        )
    assert logs.get("passback", lost) is None


def test_spark_down_for_a_while_then_every_grade_arrives_exactly_once(
    env: dict[str, str], connected: Hub, fake: FakeSpark, logs: Logs
) -> None:
    fake.fail_grades(12, 503)
    with passback(env):
        ids = [submit(connected, f"u-{n}") for n in range(4)]
        for the_id in ids:
            delivery(logs, the_id, DELIVERED)

    assert fake.delivered() == dict.fromkeys(ids, 1)
    failures = [g for g in fake.grades() if g.status == 503]
    assert len(failures) == 12
    for the_id in ids:
        attempts = [e for e in events_of(logs, the_id) if type(e).__name__ == "Attempted"]
        tried = sum(1 for g in fake.grades() if g.idempotency_key == the_id)
        assert len(attempts) == tried  # every attempt is an event
        assert [a.outcome for a in attempts[:-1]] == [RETRYING] * (tried - 1)
        assert all(a.status_code == 503 and a.next_attempt_at for a in attempts[:-1])
        assert attempts[-1].outcome == DELIVERED


def test_429_honours_retry_after(
    env: dict[str, str], connected: Hub, fake: FakeSpark, logs: Logs
) -> None:
    fake.fail_grades(1, 429, retry_after="1")
    with passback(env):
        the_id = submit(connected, "u-1")
        delivery(logs, the_id, DELIVERED)
    first, last = [e for e in events_of(logs, the_id) if type(e).__name__ == "Attempted"]
    assert (first.outcome, first.status_code) == (RETRYING, 429)
    waited = datetime.fromisoformat(first.next_attempt_at) - first.timestamp
    assert 0.9 < waited.total_seconds() < 1.5  # Retry-After, not the 10 ms backoff
    assert last.timestamp >= datetime.fromisoformat(first.next_attempt_at)
    assert fake.delivered() == {the_id: 1}


def test_400_dead_letters_at_once_and_a_redrive_resends_it_once(
    env: dict[str, str], connected: Hub, fake: FakeSpark, logs: Logs
) -> None:
    fake.fail_grades(1, 400)
    with passback(env):
        the_id = submit(connected, "u-1")
        dead = delivery(logs, the_id, DEAD)
        assert dead.attempts == 1
        assert [g.status for g in fake.grades()] == [400]

        with DeliveryLog(env) as app:
            assert redrive(app, [the_id], by="test") == [the_id]
            assert redrive(app, [the_id], by="test") == []  # no longer dead-lettered
        delivery(logs, the_id, DELIVERED)

    assert [g.status for g in fake.grades()] == [400, 200]
    names = [type(e).__name__ for e in events_of(logs, the_id)]
    assert names == ["Scheduled", "Attempted", "Redriven", "Attempted"]


def test_the_last_failed_attempt_dead_letters(
    env: dict[str, str], connected: Hub, fake: FakeSpark, logs: Logs
) -> None:
    fake.fail_grades(10, 500)
    with passback(env, RetrySchedule(base_s=0.01, cap_s=0.02, max_attempts=3)):
        the_id = submit(connected, "u-1")
        dead = delivery(logs, the_id, DEAD)
    assert dead.attempts == 3
    assert [g.status for g in fake.grades()] == [500, 500, 500]
    last = events_of(logs, the_id)[-1]
    assert (last.outcome, last.status_code, last.next_attempt_at) == (DEAD, 500, None)


def test_a_restarted_passback_resends_nothing_delivered(
    env: dict[str, str], connected: Hub, fake: FakeSpark, logs: Logs
) -> None:
    with passback(env):
        first = [submit(connected, f"u-{n}") for n in range(3)]
        for the_id in first:
            delivery(logs, the_id, DELIVERED)
        fake.fail_grades(1000, 503)
        pending = [submit(connected, f"v-{n}") for n in range(3)]
        wait_for(
            lambda: all(attempts(logs, the_id) >= 1 for the_id in pending),
            "attempts on the pending grades",
        )
    # Stopped mid-way: three delivered, three retrying. Spark comes back; a new process.
    fake.heal()
    later = submit(connected, "w-1")
    with passback(env):
        for the_id in [*pending, later]:
            delivery(logs, the_id, DELIVERED)

    assert fake.delivered() == dict.fromkeys([*first, *pending, later], 1)


def test_the_index_applies_events_in_version_order(
    env: dict[str, str], connected: Hub, fake: FakeSpark, logs: Logs
) -> None:
    fake.fail_grades(1, 400)
    with passback(env):
        the_id = submit(connected, "u-1")
        delivery(logs, the_id, DEAD)
    with DeliveryLog(env) as app:
        index = load_index(app)
    (entry,) = index.entries()
    assert (entry.id, entry.status, entry.attempts, entry.last_status_code) == (
        the_id,
        DEAD,
        1,
        400,
    )
    assert index.due(datetime.now(UTC)) == []
    events = events_of(logs, the_id)
    fresh = DeliveryIndex()
    fresh.apply(events[1])  # an attempt before its schedule is ignored
    assert fresh.entries() == []
    fresh.apply(events[0])
    fresh.apply(events[0])
    assert [e.status for e in fresh.entries()] == [RETRYING]
    assert fresh.due(datetime.now(UTC)) == [the_id]


def test_the_retry_schedule_doubles_to_its_cap_and_honours_retry_after() -> None:
    schedule = RetrySchedule(base_s=1, factor=2, cap_s=10, max_retry_after_s=60)
    assert [schedule.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert schedule.delay(3, retry_after=30) == 30
    assert schedule.delay(3, retry_after=3600) == 60


def test_the_box_comes_from_the_data_folder_and_is_never_made(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="secret key is not at"):
        box_from_env({"HUB_DATA_DIR": str(tmp_path)})
    (tmp_path / "secret.key").write_text("the key\n")
    sealed = SecretBox.from_text("the key").encrypt("x", context="c")
    assert box_from_env({"HUB_DATA_DIR": str(tmp_path)}).decrypt(sealed, context="c") == "x"


def test_hub_deliveries_lists_dead_letters_and_redrives_them(
    env: dict[str, str], connected: Hub, fake: FakeSpark, logs: Logs
) -> None:
    fake.fail_grades(2, 400)
    with passback(env):
        dead = [submit(connected, f"u-{n}") for n in range(2)]
        for the_id in dead:
            delivery(logs, the_id, DEAD)
        fine = submit(connected, "u-9")
        delivery(logs, fine, DELIVERED)

        listed = hub_cli("deliveries", "list", "--status", "dead-lettered", env=env, secret_key="-")
        assert listed.returncode == 0, listed.stderr
        rows = [line for line in listed.stdout.splitlines() if line.startswith("acme.Delivery")]
        assert sorted(row.split()[0] for row in rows) == sorted(dead)
        assert all(row.split()[1:4] == ["dead-lettered", "1", "400"] for row in rows)
        assert listed.stdout.splitlines()[-1] == "2 deliveries"

        redriven = hub_cli("deliveries", "redrive", "--id", dead[0], env=env, secret_key="-")
        assert redriven.returncode == 0, redriven.stderr
        assert f"redriven  {dead[0]}" in redriven.stdout
        delivery(logs, dead[0], DELIVERED)

        again = hub_cli("deliveries", "redrive", "--id", dead[0], env=env, secret_key="-")
        assert again.returncode == 1
        assert "is not a dead-lettered spark-grades delivery" in again.stderr
        unknown = hub_cli(
            "deliveries", "list", "--connector", "carrier-pigeon", env=env, secret_key="-"
        )
        assert unknown.returncode == 2
        assert "no connector delivers 'carrier-pigeon'" in unknown.stderr

    assert fake.delivered() == {dead[0]: 1, fine: 1}
    assert logs.get("passback", dead[1]).status == DEAD
