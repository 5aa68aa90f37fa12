"""The progress connector: tasks completed with XP once, pending submissions applied later."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.domain import backlog_id, progress_id
from connectors.progress import SPEC as PROGRESS
from hub.application import Hub
from infra.blobs import FolderBlobStore
from tests.connectors.file_server import FileServer
from tests.connectors.world import (
    PDF,
    TENANT,
    Logs,
    RunnerThread,
    add_learner,
    add_task,
    connect_tenant,
    evidence_spec,
    running,
    sha256,
    submit,
    url_file,
)

ESSAY = {"title": "Essay on photosynthesis", "pillar": "communication", "xp": 100}


@pytest.fixture
def connectors(env: dict[str, str], blobs: FolderBlobStore) -> Iterator[list[RunnerThread]]:
    """Evidence and progress, running."""
    with running(evidence_spec(blobs), PROGRESS, env=env) as runners:
        yield runners


@pytest.fixture(autouse=True)
def tenant(hub: Hub) -> None:
    connect_tenant(hub, allowed_hosts=("127.0.0.1",))


def completed(logs: Logs, learner: str, task: str) -> object:
    return logs.wait(
        "progress",
        progress_id(TENANT, learner),
        f"{task} completed",
        until=lambda p: p.has_completed(task),
    )


@pytest.mark.usefixtures("connectors")
def test_a_submission_completes_its_task_with_xp_for_its_pillar(
    hub: Hub, logs: Logs, files: FileServer
) -> None:
    learner = add_learner(hub, "u1")
    task = add_task(hub, "a1", **ESSAY)
    url = files.serve("essay.pdf", PDF, "application/pdf")
    submission = submit(
        hub,
        "u1",
        "a1",
        [url_file(url), url_file(files.url("/status/404"))],
        text="Here is my essay on photosynthesis...",
    )

    progress = completed(logs, learner, task)

    assert progress.xp == {"communication": 100}
    [event] = [e for e in logs.events("progress") if e.originator_id == progress.id]
    assert type(event).__qualname__ == "Progress.TaskCompleted"
    assert event.learner_id == learner
    assert event.task_id == task
    assert event.quest_id == hub.repository.get(task).quest_id
    assert (event.task_title, event.quest_title) == (ESSAY["title"], "Biology 101")
    assert (event.pillar, event.xp) == ("communication", 100)
    assert event.evidence == [
        {"blob": sha256(PDF), "type": "application/pdf", "filename": "essay.pdf", "size": len(PDF)}
    ]
    assert event.evidence_rejected == [
        {"filename": "essay.pdf", "type": "application/pdf", "reason": "http_404"}
    ]
    assert event.text == "Here is my essay on photosynthesis..."
    assert event.submitted_at == "2025-01-15T14:30:00+00:00"
    assert (event.source, event.submission_id) == ("spark", submission)


@pytest.mark.usefixtures("connectors")
def test_a_second_submission_of_a_task_gives_no_more_xp(hub: Hub, logs: Logs) -> None:
    learner = add_learner(hub, "u1")
    task = add_task(hub, "a1", **ESSAY)
    first = submit(hub, "u1", "a1", [], submitted_at="2025-01-15T14:30:00+00:00")
    completed(logs, learner, task)
    second = submit(
        hub, "u1", "a1", [], submitted_at="2025-01-16T09:00:00+00:00", text="Second draft."
    )

    progress = logs.wait(
        "progress",
        progress_id(TENANT, learner),
        "the resubmission",
        until=lambda p: p.has_applied(second),
    )

    assert progress.xp == {"communication": 100}
    assert progress.completed == {task: first}
    kinds = [(type(e).__qualname__, e.submission_id) for e in logs.events("progress")]
    assert kinds == [("Progress.TaskCompleted", first), ("Progress.TaskResubmitted", second)]


@pytest.mark.usefixtures("connectors")
def test_xp_adds_up_per_pillar_over_tasks(hub: Hub, logs: Logs) -> None:
    learner = add_learner(hub, "u1")
    add_task(hub, "a1", **ESSAY)
    add_task(hub, "a2", title="Cell biology lab", pillar="stem", xp=150)
    last = add_task(hub, "a3", title="Book report", pillar="communication", xp=50)
    for assignment in ("a1", "a2", "a3"):
        submit(hub, "u1", assignment, [])

    progress = completed(logs, learner, last)

    assert progress.xp == {"communication": 150, "stem": 150}


@pytest.mark.usefixtures("connectors")
def test_a_submission_from_an_unknown_learner_waits_for_their_sign_in(
    hub: Hub, logs: Logs, files: FileServer
) -> None:
    task = add_task(hub, "a1", **ESSAY)
    url = files.serve("essay.pdf", PDF, "application/pdf")
    submission = submit(hub, "newcomer", "a1", [url_file(url)])
    backlog = logs.wait("progress", backlog_id(TENANT, "spark-user", "newcomer"), "parked")
    assert list(backlog.parked) == [submission]

    learner = add_learner(hub, "newcomer")  # the SSO sign-in, later

    progress = completed(logs, learner, task)
    [event] = [e for e in logs.events("progress") if e.originator_id == progress.id]
    assert event.evidence == [
        {"blob": sha256(PDF), "type": "application/pdf", "filename": "essay.pdf", "size": len(PDF)}
    ]
    assert event.xp == 100
    backlog = logs.get("progress", backlog.id)
    assert backlog.parked == {}
    released = [e for e in logs.events("progress") if e.originator_id == backlog.id][-1]
    assert released.released == [{"submission_id": submission, "outcome": "applied"}]
    assert released.released_by == "Identity.Claimed"


@pytest.mark.usefixtures("connectors")
def test_a_submission_for_an_unknown_assignment_waits_for_the_course_sync(
    hub: Hub, logs: Logs
) -> None:
    learner = add_learner(hub, "u1")
    submission = submit(hub, "u1", "a-new", [], text="Early bird.")
    backlog = logs.wait("progress", backlog_id(TENANT, "spark-assignment", "a-new"), "parked")
    assert list(backlog.parked) == [submission]

    task = add_task(hub, "a-new", **ESSAY)

    progress = completed(logs, learner, task)
    assert progress.xp == {"communication": 100}
    assert logs.get("progress", backlog.id).parked == {}


@pytest.mark.usefixtures("connectors")
def test_a_submission_missing_both_waits_for_each_in_turn(hub: Hub, logs: Logs) -> None:
    submission = submit(hub, "newcomer", "a-new", [])
    user_backlog = backlog_id(TENANT, "spark-user", "newcomer")
    parked = logs.wait("progress", user_backlog, "parked for the learner")
    assert parked.parked[submission]["learner_key"] == "newcomer"

    learner = add_learner(hub, "newcomer")
    task_backlog = backlog_id(TENANT, "spark-assignment", "a-new")
    logs.wait(
        "progress",
        task_backlog,
        "moved to the assignment's backlog",
        until=lambda b: submission in b.parked,
    )
    assert logs.get("progress", user_backlog).parked == {}

    task = add_task(hub, "a-new", **ESSAY)

    completed(logs, learner, task)
    assert logs.get("progress", task_backlog).parked == {}
    parked_events = [e for e in logs.events("progress") if type(e).__qualname__ == "Backlog.Parked"]
    assert [e.waiting_for for e in parked_events] == [
        ["spark-user:newcomer", "spark-assignment:a-new"],
        ["spark-assignment:a-new"],
    ]


@pytest.mark.usefixtures("connectors")
def test_several_pending_submissions_of_a_learner_are_applied_together(
    hub: Hub, logs: Logs
) -> None:
    essay = add_task(hub, "a1", **ESSAY)
    lab = add_task(hub, "a2", title="Cell biology lab", pillar="stem", xp=150)
    first = submit(hub, "late", "a1", [], submitted_at="2025-01-15T10:00:00+00:00")
    second = submit(hub, "late", "a1", [], submitted_at="2025-01-15T11:00:00+00:00")
    third = submit(hub, "late", "a2", [])
    logs.wait(
        "progress",
        backlog_id(TENANT, "spark-user", "late"),
        "all three parked",
        until=lambda b: len(b.parked) == 3,
    )

    learner = add_learner(hub, "late")

    progress = logs.wait(
        "progress",
        progress_id(TENANT, learner),
        "all three applied",
        until=lambda p: len(p.applied) == 3,
    )
    assert progress.completed == {essay: first, lab: third}
    assert progress.applied[second] == essay
    assert progress.xp == {"communication": 100, "stem": 150}
