"""The progress connector: collected submissions complete tasks, or wait for what is missing.

`progress` follows `evidence` (`EvidenceCollection.Collected`) and the hub (`Identity.Claimed`,
`Task.Synced`, `Task.Updated`), and reads the hub's submissions, identities, tasks and
quests (read only). A submission whose learner and task are known completes the task on
the learner's `Progress` (XP for the task's pillar, once per task; a later submission of
a completed task is `TaskResubmitted`, no XP). Otherwise it is parked in the `Backlog`
of the first key it misses, and the identity or task that arrives releases it.

Every decision depends only on what is stored, and ids are deterministic, so a
notification processed again after a crash decides the same. A collected submission
whose learner and task are known records one event: the fast path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.projection import EventSourcedProjection
from eventsourcing.utils import get_topic

from connectors.domain import (
    Backlog,
    ConnectorAggregate,
    EvidenceCollection,
    Progress,
    backlog_id,
    caused_by,
    progress_id,
    topic_of,
)
from connectors.evidence import NAME as EVIDENCE
from connectors.runner import ProcessSpec, Upstreams
from hub.domain.base import event_context, tenant_of
from hub.domain.learners import Identity, identity_id
from hub.domain.quests import Task, task_id
from hub.domain.rules import calculate_xp, detect_pillar

NAME = "progress"
COLLECTED = topic_of(EvidenceCollection, "Collected")
IDENTITY_CLAIMED = topic_of(Identity, "Claimed")
TASK_SYNCED = topic_of(Task, "Synced")
TASK_UPDATED = topic_of(Task, "Updated")
APPLIED = "applied"
MOVED = "moved"
log = structlog.get_logger(__name__)


@dataclass
class _Unit:
    """The aggregates one notification reads and changes: each loaded once, saved together."""

    app: Application[Any]
    loaded: dict[str, ConnectorAggregate | None] = field(default_factory=dict)

    def get(self, originator_id: str) -> Any:
        if originator_id not in self.loaded:
            try:
                self.loaded[originator_id] = self.app.repository.get(originator_id)
            except AggregateNotFoundError:
                self.loaded[originator_id] = None
        return self.loaded[originator_id]

    def put(self, aggregate: ConnectorAggregate) -> None:
        self.loaded[aggregate.id] = aggregate

    def changed(self) -> list[ConnectorAggregate]:
        return [a for a in self.loaded.values() if a is not None and a.pending_events]


@dataclass(frozen=True)
class _Files:
    """A submission's evidence as the portfolio shows it."""

    stored: list[dict[str, Any]]
    rejected: list[dict[str, Any]]

    @classmethod
    def of(cls, files: list[dict[str, Any]]) -> _Files:
        return cls(
            stored=[
                {k: f[k] for k in ("blob", "type", "filename", "size")}
                for f in files
                if f["status"] == "stored"
            ],
            rejected=[
                {k: f[k] for k in ("filename", "type", "reason")}
                for f in files
                if f["status"] == "rejected"
            ],
        )


class ProgressTracker(EventSourcedProjection[str]):
    """The `progress` process application."""

    name = NAME
    topics = (COLLECTED, IDENTITY_CLAIMED, TASK_SYNCED, TASK_UPDATED)

    def __init__(self, env: Mapping[str, str], *, hub: Application[Any]) -> None:
        super().__init__(dict(env))
        self.hub = hub

    def policy(
        self,
        domain_event: DomainEventProtocol[Any],
        processing_event: ProcessingEvent[Any],
    ) -> None:
        topic = get_topic(type(domain_event))
        upstream_event: Any = domain_event
        unit = _Unit(self)
        with event_context(caused_by(upstream_event, source=NAME)):
            if topic == COLLECTED:
                self._on_collected(unit, upstream_event)
            elif topic == IDENTITY_CLAIMED:
                tenant = tenant_of(upstream_event.originator_id)
                kind = f"{upstream_event.source}-user"
                self._release(unit, tenant, kind, upstream_event.external_id, topic)
            elif topic in {TASK_SYNCED, TASK_UPDATED}:
                task = self._hub_get(upstream_event.originator_id)
                if task is not None:
                    kind = f"{task.source}-assignment"
                    self._release(unit, task.tenant, kind, task.external_id, topic)
        processing_event.collect_events(*unit.changed())

    def _on_collected(self, unit: _Unit, collected: Any) -> None:
        submission: Any = self.hub.repository.get(collected.submission_id)
        outcome = self._apply_or_park(unit, submission, _Files.of(collected.files))
        log.info(
            "progress.submission",
            tenant_id=submission.tenant,
            correlation_id=collected.context.get("correlation_id"),
            submission_id=submission.id,
            outcome=outcome,
        )

    def _apply_or_park(
        self, unit: _Unit, submission: Any, files: _Files, *, parked_in: str | None = None
    ) -> str:
        """`applied`, or the id of the backlog the submission waits in (left as it is when
        that is `parked_in`, the backlog being released)."""
        tenant, source = submission.tenant, submission.source
        identity = self._hub_get(identity_id(tenant, source, submission.learner_key))
        task = self._hub_get(task_id(tenant, source, submission.assignment_key))
        if identity is not None and task is not None:
            self._apply(unit, submission, identity.learner_id, task, files)
            return APPLIED
        waiting_for = []
        if identity is None:
            waiting_for.append((f"{source}-user", submission.learner_key))
        if task is None:
            waiting_for.append((f"{source}-assignment", submission.assignment_key))
        backlog_key = backlog_id(tenant, *waiting_for[0])
        if backlog_key != parked_in:
            backlog = Backlog.record(
                unit.get(backlog_key),
                backlog_key,
                Backlog.Parked,
                submission_id=submission.id,
                learner_key=submission.learner_key,
                assignment_key=submission.assignment_key,
                waiting_for=[f"{kind}:{key}" for kind, key in waiting_for],
                evidence=files.stored,
                evidence_rejected=files.rejected,
            )
            unit.put(backlog)
        return backlog_key

    def _apply(
        self, unit: _Unit, submission: Any, learner_id: str, task: Any, files: _Files
    ) -> None:
        key = progress_id(submission.tenant, learner_id)
        progress: Progress | None = unit.get(key)
        if progress is not None and progress.has_applied(submission.id):
            return  # applied before (a parked copy released twice changes nothing)
        shown = {
            "learner_id": learner_id,
            "task_id": task.id,
            "quest_id": task.quest_id,
            "task_title": task.title,
            "evidence": files.stored,
            "evidence_rejected": files.rejected,
            "text": submission.text,
            "submitted_at": submission.submitted_at,
            "grade": submission.grade,
            "source": submission.source,
            "submission_id": submission.id,
        }
        if progress is not None and progress.has_completed(task.id):
            progress.resubmit(**shown)
        else:
            pillar, xp = _pillar_and_xp(task)
            quest = self._hub_get(task.quest_id)
            quest_title = None if quest is None else quest.details.get("title")
            progress = Progress.record(
                progress,
                key,
                Progress.TaskCompleted,
                pillar=pillar,
                xp=xp,
                quest_title=quest_title,
                **shown,
            )
        unit.put(progress)

    def _release(self, unit: _Unit, tenant: str, kind: str, key: str, topic: str) -> None:
        backlog_key = backlog_id(tenant, kind, key)
        backlog: Backlog | None = unit.get(backlog_key)
        if backlog is None or not backlog.parked:
            return
        released = []
        for submission_id, parked in list(backlog.parked.items()):
            submission: Any = self.hub.repository.get(submission_id)
            files = _Files(parked["evidence"], parked["evidence_rejected"])
            outcome = self._apply_or_park(unit, submission, files, parked_in=backlog_key)
            if outcome == APPLIED:
                released.append({"submission_id": submission_id, "outcome": APPLIED})
            elif outcome != backlog_key:
                released.append(
                    {"submission_id": submission_id, "outcome": MOVED, "moved_to": outcome}
                )
        if released:
            backlog.release(released, released_by=topic.rsplit(":", 1)[-1])
            log.info(
                "progress.released",
                tenant_id=tenant,
                backlog=backlog_key,
                applied=sum(r["outcome"] == APPLIED for r in released),
                moved=sum(r["outcome"] == MOVED for r in released),
            )

    def _hub_get(self, originator_id: str) -> Any:
        try:
            return self.hub.repository.get(originator_id)
        except AggregateNotFoundError:
            return None


def _pillar_and_xp(task: Any) -> tuple[str, int]:
    """From the task's details (course sync sets both); the hub's rules when one is missing."""
    details: dict[str, Any] = task.details
    pillar = details.get("pillar") or detect_pillar(task.title, details.get("assignment_type"))
    xp = details.get("xp")
    if xp is None:
        xp = calculate_xp(details.get("estimated_hours"))
    return str(pillar), int(xp)


def build(env: Mapping[str, str], upstreams: Upstreams) -> ProgressTracker:
    return ProgressTracker(env, hub=upstreams["hub"])


SPEC = ProcessSpec(NAME, build, upstreams=("hub", EVIDENCE))
