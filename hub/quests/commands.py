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

from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
from hub.unit_of_work import get_or_none, retrying, save_changed, saved

SOURCE = "hub"
# A quest's details list its tasks: the required ones under the key the badges connector
# reads (a quest is completed when every one of `task_ids` is), the optional ones beside.
REQUIRED, OPTIONAL = "task_ids", "optional_task_ids"
TASK_LISTS = (REQUIRED, OPTIONAL)


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


def _of_tenant(hub: Hub, tenant: str, found_id: str) -> Any:
    """The aggregate, if it is the tenant's: another tenant's is not found, as an unknown."""
    if tenant_of(found_id) != tenant:
        return None
    return get_or_none(hub, found_id)


def quest_of(hub: Hub, tenant: str, found_id: str) -> Quest:
    found = _of_tenant(hub, tenant, found_id)
    if not isinstance(found, Quest):
        raise QuestNotFoundError(f"no quest {found_id!r} in this tenant")
    return found


def task_of(hub: Hub, tenant: str, found_id: str) -> Task:
    found = _of_tenant(hub, tenant, found_id)
    if not isinstance(found, Task):
        raise TaskNotFoundError(f"no task {found_id!r} in this tenant")
    return found


def _task_lists(details: dict[str, Any]) -> dict[str, list[str]]:
    return {name: list(details.get(name, [])) for name in TASK_LISTS}


def save_quest(hub: Hub, tenant: str, key: str, details: dict[str, Any]) -> Saved:
    """Create or update the native quest `key` (title, description, pillar, order)."""
    check_tenant(tenant)

    def once() -> Saved:
        quest: Quest | None = get_or_none(hub, quest_id(tenant, SOURCE, key))
        if quest is None:
            quest = Quest(tenant=tenant, source=SOURCE, external_id=key, details=details)
        else:
            merged = {**details, **_task_lists(quest.details)}
            if merged != quest.details:
                quest.update(merged)
        return Saved(quest.id, save_changed(hub, quest))

    return retrying(once)


def save_task(hub: Hub, tenant: str, quest: str, key: str, details: dict[str, Any]) -> Saved:
    """Create or update task `key` of the native quest `quest` (an id)."""

    def once() -> Saved:
        found = quest_of(hub, tenant, quest)
        if found.source != SOURCE:
            msg = f"quest {quest!r} comes from {found.source}: add tasks to native quests only"
            raise QuestNotFoundError(msg)
        external = f"{found.external_id}/{key}"
        task: Task | None = get_or_none(hub, task_id(tenant, SOURCE, external))
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
        lists = _task_lists(found.details)
        for name in TASK_LISTS:
            if task.id in lists[name]:
                lists[name].remove(task.id)
        lists[REQUIRED if details.get("required", True) else OPTIONAL].append(task.id)
        if lists != _task_lists(found.details):
            found.update({**found.details, **lists})
        return Saved(task.id, save_changed(hub, task, found))

    return retrying(once)


def _learner(hub: Hub, tenant: str, person_id: str) -> Learner:
    found = get_or_none(hub, person_id) if tenant_of(person_id) == tenant else None
    if not isinstance(found, Learner) or found.only_observes:
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
        return Saved(learner.id, save_changed(hub, learner, *_hub_identity(hub, tenant, learner)))

    return retrying(once)


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
    position = saved(hub, submission, *_hub_identity(hub, tenant, learner))
    return Completion(submission.id, found.id, quest.id, position)
