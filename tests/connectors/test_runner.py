"""The connector runner: killed anywhere and restarted, exactly once; one active at a time;
a transient failure restarts, a bug stops the connector without passing the event."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Mapping
from typing import Any

import pytest
import structlog
from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Tracking

from connectors import evidence, progress
from connectors.domain import evidence_collection_id, progress_id
from connectors.evidence import RECEIVED, EvidenceCollector
from connectors.progress import COLLECTED, ProgressTracker
from connectors.registry import CONNECTORS
from connectors.runner import ConnectorFailedError, ProcessSpec, Upstreams, connector_lease
from hub.application import Hub
from infra.blobs import FolderBlobStore
from infra.errors import NatsUnavailableError
from tests.connectors.file_server import FileServer
from tests.connectors.trap import trapped_child
from tests.connectors.world import (
    PDF,
    TENANT,
    TTL,
    Logs,
    RunnerThread,
    add_learner,
    add_task,
    comparable,
    connect_tenant,
    evidence_spec,
    running,
    submit,
    url_file,
    wait_for,
)


class ReferenceEvidence(EvidenceCollector):
    name = "evidence_ref"


class ReferenceProgress(ProgressTracker):
    name = "progress_ref"


def reference_spec(connector: str, blobs: FolderBlobStore) -> ProcessSpec:
    """The same connector recording under another name: what an uninterrupted run records."""
    if connector == "evidence":

        def build_evidence(env: Mapping[str, str], up: Upstreams) -> EvidenceCollector:
            return ReferenceEvidence(env, hub=up["hub"], blobs=blobs)

        return ProcessSpec("evidence_ref", build_evidence, ("hub",))

    def build_progress(env: Mapping[str, str], up: Upstreams) -> ProgressTracker:
        return ReferenceProgress(env, hub=up["hub"])

    return ProcessSpec("progress_ref", build_progress, ("hub", "evidence"))


def seed(hub: Hub, files: FileServer) -> None:
    """Learners, tasks and 30 submissions: most complete a task, some resubmit, some wait."""
    connect_tenant(hub, allowed_hosts=("127.0.0.1",))
    url = files.serve("essay.pdf", PDF, "application/pdf")
    for user in ("u0", "u1", "u2"):
        add_learner(hub, user)
    for number in range(4):
        add_task(hub, f"a{number}", title=f"Essay {number}", pillar="communication", xp=50)
    for n in range(30):
        user = ("u0", "u1", "u2", "ghost")[n % 4]  # the ghost never signs in: parked
        submit(
            hub,
            user,
            f"a{n % 5}",
            [url_file(url)],  # a4 is never synced: parked
            submitted_at=f"2025-01-15T10:{n:02d}:00+00:00",
        )


def last_id(logs: Logs, app: str, topic: str) -> int:
    notifications = logs.reader(app).recorder.select_notifications(
        start=1, limit=100_000, topics=[topic]
    )
    return notifications[-1].id


def ids_of(logs: Logs, app: str, topic: str) -> list[int]:
    notifications = logs.reader(app).recorder.select_notifications(
        start=1, limit=100_000, topics=[topic]
    )
    return [n.id for n in notifications]


def run_child(spec: ProcessSpec, env: dict[str, str], kind: str, upstream: str, at: int) -> None:
    """Run `spec` in a child process until it reaches notification `at`, then SIGKILL it."""
    context = multiprocessing.get_context("spawn")
    reached = context.Event()
    child = context.Process(
        target=trapped_child, args=(spec, env, kind, upstream, at, reached, TTL)
    )
    child.start()
    try:
        assert reached.wait(timeout=120), "the child never reached its trap"
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.join(timeout=30)
    assert child.exitcode == -signal.SIGKILL


@pytest.mark.parametrize("connector", ["evidence", "progress"])
def test_killed_mid_way_and_restarted_records_what_an_uninterrupted_run_does(
    connector: str,
    hub: Hub,
    env: dict[str, str],
    logs: Logs,
    blobs: FolderBlobStore,
    files: FileServer,
) -> None:
    seed(hub, files)
    spec, upstream, topic = {
        "evidence": (evidence.SPEC, "hub", RECEIVED),
        "progress": (progress.SPEC, "evidence", COLLECTED),
    }[connector]
    if connector == "progress":
        with running(evidence.SPEC, env=env):
            wait_for(
                lambda: logs.tracking("evidence", "hub") == last_id(logs, "hub", RECEIVED),
                "the evidence collected",
            )
    todo = ids_of(logs, upstream, topic)
    reference = reference_spec(connector, blobs)
    with running(reference, env=env):
        wait_for(lambda: logs.tracking(reference.name, upstream) == todo[-1], "the reference")

    # Killed before anything of the 5th is written, then after the 12th's event is stored
    # but not its tracking pointer (the restart finds the position in the event).
    run_child(spec, env, "before", upstream, todo[4])
    assert logs.tracking(connector, upstream) == todo[3]
    run_child(spec, env, "after", upstream, todo[11])
    assert logs.tracking(connector, upstream) == todo[11]
    with running(spec, env=env, owner="restarted"):
        wait_for(lambda: logs.tracking(connector, upstream) == todo[-1], "the restart")

    restarted, uninterrupted = logs.events(connector), logs.events(reference.name)
    assert len(restarted) == len(uninterrupted) >= 30
    assert comparable(restarted) == comparable(uninterrupted)


def spying_spec(blobs: FolderBlobStore, seen: list[int]) -> ProcessSpec:
    class Spy(EvidenceCollector):
        name = "evidence"

        def process_event(self, domain_event: Any, tracking: Tracking) -> None:
            seen.append(tracking.notification_id)
            super().process_event(domain_event, tracking)

    def build(env: Mapping[str, str], up: Upstreams) -> EvidenceCollector:
        return Spy(env, hub=up["hub"], blobs=blobs)

    return ProcessSpec("evidence", build, ("hub",))


def collected(logs: Logs, submission: str) -> Any:
    return logs.wait("evidence", evidence_collection_id(TENANT, submission), submission)


def test_one_runner_at_a_time(
    hub: Hub, env: dict[str, str], logs: Logs, blobs: FolderBlobStore
) -> None:
    connect_tenant(hub)
    seen_by_b: list[int] = []
    a = RunnerThread(evidence_spec(blobs), env, owner="a")
    try:
        collected(logs, submit(hub, "u1", "a1", [], submitted_at="2025-01-01T00:00:00Z"))
        with running(spying_spec(blobs, seen_by_b), env=env, owner="b"):
            for day in range(2, 6):
                collected(logs, submit(hub, "u1", "a1", [], submitted_at=f"2025-01-0{day}"))
            assert connector_lease("evidence", env).holder() == "a"
            assert seen_by_b == []

            a.stop()  # gives the lease up: b takes over without waiting for it to lapse
            later = [
                submit(hub, "u1", "a1", [], submitted_at=f"2025-02-0{day}") for day in range(1, 4)
            ]
            for submission in later:
                collected(logs, submission)
            assert connector_lease("evidence", env).holder() == "b"
            assert seen_by_b == ids_of(logs, "hub", RECEIVED)[-3:]
    finally:
        a.stop()
    assert len(logs.events("evidence")) == 8


def failing_spec(
    blobs: FolderBlobStore, fail_on: str, error: Exception, times: list[int]
) -> ProcessSpec:
    """Evidence whose policy raises `error` on submission `fail_on`, `times[0]` times."""

    class Failing(EvidenceCollector):
        name = "evidence"

        def policy(
            self, domain_event: DomainEventProtocol[Any], processing_event: ProcessingEvent[Any]
        ) -> None:
            if domain_event.originator_id == fail_on and times[0] > 0:
                times[0] -= 1
                raise error
            super().policy(domain_event, processing_event)

    def build(env: Mapping[str, str], up: Upstreams) -> EvidenceCollector:
        return Failing(env, hub=up["hub"], blobs=blobs)

    return ProcessSpec("evidence", build, ("hub",))


def test_a_bug_in_a_policy_stops_the_connector_at_that_event(
    hub: Hub, env: dict[str, str], logs: Logs, blobs: FolderBlobStore
) -> None:
    connect_tenant(hub)
    first, poisoned, third = (
        submit(hub, "u1", "a1", [], submitted_at=f"2025-01-0{day}") for day in (1, 2, 3)
    )
    spec = failing_spec(blobs, poisoned, ValueError("a bug"), times=[1])

    with structlog.testing.capture_logs() as captured:
        runner = RunnerThread(spec, env)
        error = runner.join()

    assert isinstance(error, ConnectorFailedError)
    assert isinstance(error.__cause__, ValueError)
    failed = [line for line in captured if line["event"] == "connector.failed"]
    assert failed[0]["log_level"] == "error"
    assert "a bug" in failed[0]["error"]
    # Not passed over: the poisoned submission is where the connector stands.
    assert logs.tracking("evidence", "hub") == ids_of(logs, "hub", RECEIVED)[0]
    assert connector_lease("evidence", env).holder() is None

    with running(spec, env=env):  # fixed (the failure was once): it carries on from there
        collected(logs, third)
    assert [e.submission_id for e in logs.events("evidence")] == [first, poisoned, third]


def test_a_transient_failure_restarts_the_connector_and_loses_nothing(
    hub: Hub, env: dict[str, str], logs: Logs, blobs: FolderBlobStore
) -> None:
    connect_tenant(hub)
    submissions = [submit(hub, "u1", "a1", [], submitted_at=f"2025-01-0{day}") for day in (1, 2, 3)]
    times = [2]
    spec = failing_spec(blobs, submissions[1], NatsUnavailableError("NATS went away"), times)

    with structlog.testing.capture_logs() as captured, running(spec, env=env):
        collected(logs, submissions[2])

    assert times == [0]
    restarts = [line for line in captured if line["event"] == "connector.restarting"]
    assert len(restarts) == 2
    assert "NATS went away" in restarts[0]["error"]
    assert [e.submission_id for e in logs.events("evidence")] == submissions


def test_evidence_and_progress_run_from_the_registry(
    hub: Hub, env: dict[str, str], logs: Logs, files: FileServer
) -> None:
    specs = {spec.name: spec for spec in CONNECTORS}
    connect_tenant(hub, allowed_hosts=("127.0.0.1",))
    learner = add_learner(hub, "u1")
    task = add_task(hub, "a1", title="Essay", pillar="communication", xp=100)
    submit(hub, "u1", "a1", [url_file(files.serve("essay.pdf", PDF, "application/pdf"))])
    stop = threading.Event()
    threads = [
        threading.Thread(target=specs[name].run, args=(env, stop), daemon=True)
        for name in ("evidence", "progress")
    ]
    for thread in threads:
        thread.start()
    try:
        done = logs.wait(
            "progress",
            progress_id(TENANT, learner),
            "the task completed",
            until=lambda p: p.has_completed(task),
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert done.xp == {"communication": 100}
    assert [spec.name for spec in CONNECTORS][:2] == ["evidence", "progress"]
