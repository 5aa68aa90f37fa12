"""Native quests through HTTP: admin quests and tasks, enrolment, evidence uploads and their
refusals; an upload completes the task through the same events as a Spark submission."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors import evidence, progress
from connectors.domain import progress_id
from hub.domain.quests import quest_id, task_id
from hub.domain.submissions import Submission
from infra.blobs import FolderBlobStore
from tests.accounts.conftest import World, data_dir, problem
from tests.connectors.world import PDF, PNG, Logs, RunnerThread, sha256

QUEST = {"key": "garden", "title": "Grow a garden", "pillar": "wellness", "order": 1}


def make_quest(world: World, tenant: str, **changes: Any) -> str:
    answer = world.http.post(
        "/api/v1/admin/quests", json={"tenant": tenant, **QUEST, **changes}, headers=world.admin()
    )
    assert answer.status_code == 200, answer.text
    made: str = answer.json()["id"]
    return made


def make_task(world: World, quest: str, key: str, **details: Any) -> str:
    body = {"key": key, "title": key.title(), "pillar": "stem", "xp": 120, **details}
    answer = world.http.post(
        f"/api/v1/admin/quests/{quest}/tasks", json=body, headers=world.admin()
    )
    assert answer.status_code == 200, answer.text
    made: str = answer.json()["id"]
    return made


def enrol(world: World, learner: str, quest: str) -> httpx.Response:
    return world.http.put(
        f"/api/v1/me/quests/{quest}/enrolment", headers=world.cookie(learner, "student")
    )


def complete(
    world: World, learner: str, task: str, *, text: str = "I did it", files: Any = ()
) -> httpx.Response:
    return world.http.post(
        f"/api/v1/me/tasks/{task}/complete",
        data={"text": text},
        files=list(files) or None,
        headers=world.cookie(learner, "student"),
    )


def submissions(world: World, tenant: str) -> list[Any]:
    return [
        n
        for n in world.events()
        if n.topic.endswith("Submission.Received") and n.originator_id.startswith(f"{tenant}.")
    ]


@pytest.fixture
def tenant(world: World) -> str:
    return world.tenant()


def test_an_admin_makes_a_quest_with_ordered_tasks(world: World, tenant: str) -> None:
    quest = make_quest(world, tenant)
    assert quest == quest_id(tenant, "hub", "garden")
    second = make_task(world, quest, "harvest", order=2, required=False)
    first = make_task(world, quest, "plant", order=1, xp=200)
    assert first == task_id(tenant, "hub", "garden/plant")
    assert make_quest(world, tenant) == quest  # the same key: the same quest, unchanged
    shown = world.http.get(f"/api/v1/admin/quests/{quest}", headers=world.admin()).json()
    assert (shown["title"], shown["pillar"], shown["source"]) == (
        "Grow a garden",
        "wellness",
        "hub",
    )
    assert [(t["id"], t["xp"], t["required"]) for t in shown["tasks"]] == [
        (first, 200, True),
        (second, 120, False),
    ]
    # Required tasks are the ones a quest's completion (and a badge) counts.
    assert (shown["task_ids"], shown["optional_task_ids"]) == ([first], [second])
    make_task(world, quest, "harvest", order=2, required=True)
    again = world.http.get(f"/api/v1/admin/quests/{quest}", headers=world.admin()).json()
    assert (again["task_ids"], again["optional_task_ids"]) == ([first, second], [])


def test_enrolling_in_another_tenants_quest_is_refused(world: World, tenant: str) -> None:
    other = world.tenant()
    theirs = make_quest(world, other)
    sam = world.learner(tenant, "sam")
    before = len(world.events())
    problem(enrol(world, sam, theirs), 404, "quest-not-found")
    problem(enrol(world, sam, quest_id(tenant, "hub", "nothing")), 404, "quest-not-found")
    assert len(world.events()) == before
    assert enrol(world, sam, make_quest(world, tenant)).status_code == 200
    assert world.hub.repository.get(sam).quests == [quest_id(tenant, "hub", "garden")]


def test_completing_a_task_that_is_not_yours_is_refused(world: World, tenant: str) -> None:
    quest = make_quest(world, tenant)
    task = make_task(world, quest, "plant")
    sam = world.learner(tenant, "sam")  # not enrolled
    problem(complete(world, sam, task), 403, "task-not-yours")
    other = world.tenant()
    theirs = make_task(world, make_quest(world, other), "plant")
    problem(complete(world, sam, theirs), 404, "task-not-found")
    gran = world.http.post(
        "/api/v1/admin/accounts",
        json={"tenant": tenant, "email": "gran@example.org", "name": "Gran", "role": "observer"},
        headers=world.admin(),
    ).json()["person_id"]
    problem(complete(world, gran, task), 403, "not-a-learner")
    assert submissions(world, tenant) == []


def test_uploads_over_the_limits_or_of_refused_types_leave_nothing(
    world: World, tenant: str
) -> None:
    quest = make_quest(world, tenant)
    task = make_task(world, quest, "plant")
    sam = world.learner(tenant, "sam")
    enrol(world, sam, quest)
    big = b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024)
    refusals = [
        (("files", ("big.pdf", big, "application/pdf")), 413, "evidence-too-large"),
        (
            ("files", ("run.exe", b"MZ\x90\x00" * 8, "application/x-msdownload")),
            415,
            "evidence-type-refused",
        ),
        (("files", ("fake.pdf", PNG, "application/pdf")), 415, "evidence-type-refused"),
    ]
    for part, status, slug in refusals:
        problem(complete(world, sam, task, files=[part]), status, slug)
    problem(complete(world, sam, task, text=" "), 422, "evidence-empty")
    assert submissions(world, tenant) == []
    assert not (data_dir(world) / "blobs").exists() or all(
        sha256(big) != p.name for p in (data_dir(world) / "blobs").rglob("*")
    )


@pytest.fixture
def connectors(world: World) -> Iterator[Logs]:
    runners = [RunnerThread(evidence.SPEC, world.env), RunnerThread(progress.SPEC, world.env)]
    logs = Logs(world.env)
    yield logs
    logs.close()
    for runner in runners:
        runner.stop()


def test_an_upload_completes_the_task_as_a_spark_submission_would(
    world: World, tenant: str, connectors: Logs
) -> None:
    quest = make_quest(world, tenant)
    task = make_task(world, quest, "plant", xp=150, pillar="art")
    sam = world.learner(tenant, "sam")
    assert enrol(world, sam, quest).status_code == 200
    done = complete(
        world,
        sam,
        task,
        text="Tomatoes!",
        files=[
            ("files", ("plan.pdf", PDF, "application/pdf")),
            ("files", ("p.png", PNG, "image/png")),
        ],
    )
    assert done.status_code == 201, done.text
    body = done.json()
    assert [(f["blob"], f["size"]) for f in body["files"]] == [
        (sha256(PDF), len(PDF)),
        (sha256(PNG), len(PNG)),
    ]
    assert FolderBlobStore(data_dir(world) / "blobs").get(sha256(PDF)) == PDF

    received: Submission = world.hub.repository.get(body["submission_id"])
    assert (received.source, received.learner_key, received.text) == ("hub", sam, "Tomatoes!")
    made = connectors.wait(
        "progress", progress_id(tenant, sam), "the task completed", lambda p: task in p.completed
    )
    assert made.xp == {"art": 150}
    assert made.completed[task] == body["submission_id"]
