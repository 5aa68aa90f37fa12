"""`record_score`: a client's score for a learner's task, recorded as other grading is.

A score is a `Submission.Received` with its `grade`, keyed as the task's own source keys
it (the learner's identity in that source, the task's external id): the progress
connector completes the task with the grade, and passback and Caliper follow, exactly as
for a graded Spark submission. Who sent it is in the event's context (`verified_by`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.application import Hub
from hub.domain.base import tenant_of
from hub.domain.learners import Learner
from hub.domain.submissions import Submission
from hub.quests.commands import quest_of, task_of
from hub.quests.errors import QuestError
from hub.unit_of_work import get_or_none, saved


class ScoreError(Exception):
    """Raised when a score cannot be recorded: unknown learner or task, or no way to key it."""


@dataclass(frozen=True)
class RecordedScore:
    submission_id: str
    position: int


def _identity_in(learner: Learner, source: str) -> str | None:
    for identity in learner.identities:
        kind, _, external_id = identity.partition(":")
        if kind == source:
            return external_id
    return None


def record_score(
    hub: Hub,
    tenant: str,
    learner_id: str,
    task_id: str,
    *,
    score: float,
    comment: str,
    verified_by: str,
    now: datetime,
) -> RecordedScore:
    try:
        task = task_of(hub, tenant, task_id)
        quest = quest_of(hub, tenant, task.quest_id)
    except (QuestError, ValueError) as error:
        raise ScoreError(str(error)) from None
    learner = get_or_none(hub, learner_id) if tenant_of(learner_id) == tenant else None
    if not isinstance(learner, Learner):
        raise ScoreError(f"no learner {learner_id!r} in this tenant")
    learner_key = _identity_in(learner, task.source)
    if learner_key is None:
        raise ScoreError(f"the learner has no identity in {task.source!r}, the task's source")
    submission = Submission(
        tenant=tenant,
        source=task.source,
        learner_key=learner_key,
        assignment_key=task.external_id,
        submitted_at=now.isoformat(),
        course_key=quest.external_id,
        text=comment,
        files=[],
        grade=score,
        verified={"verified_by": verified_by, "learner_id": learner_id},
    )
    return RecordedScore(submission.id, saved(hub, submission))
