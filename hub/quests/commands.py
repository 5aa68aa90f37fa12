"""Native quest commands on the `hub` app (source `hub`), one function each, one save.

    save_quest      Quest.Synced | Quest.Updated (nothing when unchanged)
    save_task       Task.Synced | Task.Updated + Quest.Updated (its task list)
    enrol           Learner.Enrolled (+ Identity.Claimed for source `hub`, the first time)
    complete_task   Submission.Received (source `hub`), the event Spark's webhook records:
                    the evidence and progress connectors then complete the task and award
                    its XP exactly as for a Spark submission.

Ids are deterministic over the admin's keys: a quest is `(tenant, "hub", quest key)`, a
task `(tenant, "hub", "<quest key>/<task key>")`. A learner is known to the progress
connector through the identity `(tenant, "hub", <learner id>)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from hub.application import Hub
from hub.domain.base import HubAggregate, check_tenant, tenant_of
from hub.domain.learners import Identity, Learner, identity_id
from hub.domain.quests import Quest, Task, quest_id, task_id
from hub.domain.submissions import Submission
from hub.quests.errors import (
    NotALearnerError,
    NotEnrolledError,
    QuestNotFoundError,
    TaskNotFoundError,
)

SOURCE = "hub"
ATTEMPTS = 5
T = TypeVar("T")


@dataclass(frozen=True)
class Saved:
    aggregate_id: str
    position: int | None


@dataclass(frozen=True)
class Completion:
    submission_id: str
    task_id: str
    quest_id: str
    position: int


def _retrying(command: Callable[[], T]) -> T:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return command()
        except IntegrityError:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _get(hub: Hub, found_id: str) -> Any:
    try:
        return hub.repository.get(found_id)
    except AggregateNotFoundError:
        return None


def _save(hub: Hub, *aggregates: HubAggregate) -> int | None:
    changed = [a for a in aggregates if a.pending_events]
    if not changed:
        return None
    return max(int(r.notification.id) for r in hub.save(*changed))


def quest_of(hub: Hub, tenant: str, found_id: str) -> Quest:
    """The tenant's quest `found_id`; another tenant's is not found, as an unknown one."""
    found = _get(hub, found_id) if tenant_of(found_id) == check_tenant(tenant) else None
    if not isinstance(found, Quest):
        msg = f"no quest {found_id!r} in this tenant"
        raise QuestNotFoundError(msg)
    return found


def task_of(hub: Hub, tenant: str, found_id: str) -> Task:
    found = _get(hub, found_id) if tenant_of(found_id) == check_tenant(tenant) else None
    if not isinstance(found, Task):
        msg = f"no task {found_id!r} in this tenant"
        raise TaskNotFoundError(msg)
    return found


def save_quest(hub: Hub, tenant: str, key: str, details: dict[str, Any]) -> Saved:
    """Create or update the native quest `key` (title, description, pillar, order)."""
    check_tenant(tenant)

    def once() -> Saved:
        quest: Quest | None = _get(hub, quest_id(tenant, SOURCE, key))
        if quest is None:
            quest = Quest(tenant=tenant, source=SOURCE, external_id=key, details=details)
        else:
            merged = {**details, "tasks": quest.details.get("tasks", [])}
            if merged != quest.details:
                quest.update(merged)
        return Saved(quest.id, _save(hub, quest))

    return _retrying(once)


def save_task(hub: Hub, tenant: str, quest: str, key: str, details: dict[str, Any]) -> Saved:
    """Create or update task `key` of the native quest `quest` (an id)."""

    def once() -> Saved:
        found = quest_of(hub, tenant, quest)
        if found.source != SOURCE:
            msg = f"quest {quest!r} comes from {found.source}: add tasks to native quests only"
            raise QuestNotFoundError(msg)
        external = f"{found.external_id}/{key}"
        task: Task | None = _get(hub, task_id(tenant, SOURCE, external))
        if task is None:
            task = Task(
                tenant=tenant,
                source=SOURCE,
                external_id=external,
                quest_id=found.id,
                details=details,
            )
        elif task.details != details:
            task.update(details)
        tasks = list(found.details.get("tasks", []))
        if task.id not in tasks:
            found.update({**found.details, "tasks": [*tasks, task.id]})
        return Saved(task.id, _save(hub, task, found))

    return _retrying(once)


def _learner(hub: Hub, tenant: str, person_id: str) -> Learner:
    found = _get(hub, person_id) if tenant_of(person_id) == tenant else None
    if not isinstance(found, Learner):
        msg = "only learners enrol in quests and hand in work"
        raise NotALearnerError(msg)
    return found


def _hub_identity(hub: Hub, tenant: str, learner: Learner) -> list[HubAggregate]:
    """The identity the progress connector finds the learner by, if not yet claimed."""
    if identity_id(tenant, SOURCE, learner.id) in hub.repository:
        return []
    return [Identity(tenant=tenant, source=SOURCE, external_id=learner.id, learner_id=learner.id)]


def enrol(hub: Hub, tenant: str, person_id: str, quest: str) -> Saved:
    """Enrol the signed-in learner in a quest of their tenant (a repeat records nothing)."""

    def once() -> Saved:
        quest_of(hub, tenant, quest)
        learner = _learner(hub, tenant, person_id)
        if not learner.is_enrolled(quest):
            learner.enrol(quest_id=quest, source=SOURCE)
        return Saved(learner.id, _save(hub, learner, *_hub_identity(hub, tenant, learner)))

    return _retrying(once)


def check_can_complete(hub: Hub, tenant: str, person_id: str, task: str) -> Task:
    """The task, if it is one the learner may complete (its quest is theirs)."""
    found = task_of(hub, tenant, task)
    learner = _learner(hub, tenant, person_id)
    if not learner.is_enrolled(found.quest_id):
        msg = "this task belongs to a quest you are not enrolled in: it is not yours"
        raise NotEnrolledError(msg)
    return found


def complete_task(
    hub: Hub,
    tenant: str,
    person_id: str,
    task: str,
    *,
    text: str,
    files: list[dict[str, Any]],
    now: datetime,
) -> Completion:
    """Record the learner's evidence for a native task (files already in blob storage)."""
    found = check_can_complete(hub, tenant, person_id, task)
    if found.source != SOURCE:
        msg = f"task {task!r} comes from {found.source}: hand it in there"
        raise TaskNotFoundError(msg)
    learner = _learner(hub, tenant, person_id)
    quest = quest_of(hub, tenant, found.quest_id)
    submission = Submission(
        tenant=tenant,
        source=SOURCE,
        learner_key=person_id,
        assignment_key=found.external_id,
        submitted_at=now.isoformat(),
        course_key=quest.external_id,
        text=text,
        files=files,
        grade=None,
        verified={"verified_by": "session", "learner_id": person_id},
    )
    position = _save(hub, submission, *_hub_identity(hub, tenant, learner))
    assert position is not None
    return Completion(submission.id, found.id, quest.id, position)
