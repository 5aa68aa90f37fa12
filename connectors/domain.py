"""The connectors' own aggregates: evidence collections, learners' progress, parked submissions.

They live in the connectors' applications (`evidence`, `progress`), not in the hub's:
each connector records what it did in its own log, beside the tracking position of
the hub event that caused it.

Why "opening" events: a process application's fast path is one event per processed
notification (one JetStream message that carries the event and its tracking position).
An aggregate whose first fact needs a separate "created" event would make every first
completion of a learner an atomic batch of two. So `Progress.TaskCompleted` and
`Backlog.Parked` create their aggregate when they are its first event, and extend it
when they are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from eventsourcing.domain import CanInitAggregate, event
from eventsourcing.utils import get_topic

from hub.domain.base import EventContext, HubAggregate, aggregate_id

STORED = "stored"
REJECTED = "rejected"


class ConnectorAggregate(HubAggregate):
    """An aggregate whose events may open it: `record` creates it or appends to it."""

    @dataclass(frozen=True)
    class Opening(HubAggregate.Created):
        """An event that creates its aggregate when first in its sequence, else extends it."""

        def mutate(self, aggregate: Any) -> Any:
            if aggregate is None:
                return super().mutate(aggregate)
            return super(CanInitAggregate, self).mutate(aggregate)

    @classmethod
    def record(
        cls,
        existing: Self | None,
        originator_id: str,
        event_class: type[ConnectorAggregate.Opening],
        **fields: Any,
    ) -> Self:
        """`existing` with an `event_class` event appended, or a new aggregate it opens."""
        if existing is None:
            return cls._create(event_class, id=originator_id, **fields)
        existing.trigger_event(event_class, originator_topic=get_topic(cls), **fields)
        return existing


def topic_of(aggregate_class: type[Any], event_name: str) -> str:
    """The topic of an aggregate's event class (the hub's are made by `@event`, unseen by mypy)."""
    return get_topic(vars(aggregate_class)[event_name])


def caused_by(domain_event: Any, source: str) -> EventContext:
    """The context of what a connector records for `domain_event`: same correlation, caused
    by that event (by its aggregate and version: the same on every replay)."""
    context: dict[str, str] = getattr(domain_event, "context", None) or {}
    causation = f"{domain_event.originator_id}@{domain_event.originator_version}"
    return EventContext(
        correlation_id=context.get("correlation_id", causation),
        causation_id=causation,
        source=source,
        verified_by="process",
    )


# Evidence -----------------------------------------------------------------------------


def evidence_collection_id(tenant: str, submission_id: str) -> str:
    return aggregate_id(tenant, "EvidenceCollection", submission_id)


class EvidenceCollection(HubAggregate):
    """What became of one submission's files: each stored (with its blob) or rejected.

    A file entry is `{"index", "filename", "type", "origin", "status": "stored", "blob",
    "size"}` or `{"index", "filename", "type", "origin", "status": "rejected", "reason",
    "detail"}`: `type` is the declared content type (checked against the bytes of a
    stored file), `origin` "url" or "embedded", `blob` the SHA-256 in blob storage.
    """

    @staticmethod
    def create_id(tenant: str, submission_id: str, **_: object) -> str:
        return evidence_collection_id(tenant, submission_id)

    @event("Collected")
    def __init__(self, tenant: str, submission_id: str, files: list[dict[str, Any]]) -> None:
        self.submission_id = submission_id
        self.files = files

    @property
    def stored(self) -> list[dict[str, Any]]:
        return [f for f in self.files if f["status"] == STORED]

    @property
    def rejected(self) -> list[dict[str, Any]]:
        return [f for f in self.files if f["status"] == REJECTED]


# Progress -----------------------------------------------------------------------------


def progress_id(tenant: str, learner_id: str) -> str:
    return aggregate_id(tenant, "Progress", learner_id)


class Progress(ConnectorAggregate):
    """A learner's completed tasks; each completion event says all the portfolio shows."""

    def __init__(self) -> None:
        self.completed: dict[str, str] = {}  # task id -> the submission that completed it
        self.applied: dict[str, str] = {}  # submission id -> task id
        self.xp: dict[str, int] = {}  # pillar -> XP

    @dataclass(frozen=True)
    class TaskCompleted(ConnectorAggregate.Opening):
        """A task done for the first time: XP for its pillar, and the evidence shown."""

        learner_id: str
        task_id: str
        quest_id: str
        task_title: str
        quest_title: str | None
        pillar: str
        xp: int
        evidence: list[dict[str, Any]]
        evidence_rejected: list[dict[str, Any]]
        text: str
        submitted_at: str
        grade: float | None
        source: str
        submission_id: str

        def apply(self, aggregate: Any) -> None:
            progress: Progress = aggregate
            progress.completed[self.task_id] = self.submission_id
            progress.applied[self.submission_id] = self.task_id
            progress.xp[self.pillar] = progress.xp.get(self.pillar, 0) + self.xp

    @dataclass(frozen=True)
    class TaskResubmitted(HubAggregate.Event):
        """Later work on a task already completed: shown, but no more XP."""

        learner_id: str
        task_id: str
        quest_id: str
        task_title: str
        evidence: list[dict[str, Any]]
        evidence_rejected: list[dict[str, Any]]
        text: str
        submitted_at: str
        grade: float | None
        source: str
        submission_id: str

        def apply(self, aggregate: Any) -> None:
            progress: Progress = aggregate
            progress.applied[self.submission_id] = self.task_id

    def has_completed(self, task_id: str) -> bool:
        return task_id in self.completed

    def has_applied(self, submission_id: str) -> bool:
        return submission_id in self.applied

    def resubmit(self, **fields: Any) -> None:
        self.trigger_event(self.TaskResubmitted, **fields)


# Backlog ------------------------------------------------------------------------------


def backlog_id(tenant: str, kind: str, key: str) -> str:
    """`kind` is what is missing: "spark-user" or "spark-assignment" (`<source>-...`)."""
    return aggregate_id(tenant, "Backlog", kind, key)


class Backlog(ConnectorAggregate):
    """Submissions waiting for one missing key (a learner or a task the hub does not know).

    A submission waits in one backlog at a time: the first key it misses. When that key
    arrives it is applied, or moved to the backlog of the next key it still misses.
    """

    def __init__(self) -> None:
        self.parked: dict[str, dict[str, Any]] = {}  # submission id -> what applying needs

    @dataclass(frozen=True)
    class Parked(ConnectorAggregate.Opening):
        """`waiting_for` lists every key the submission misses, this backlog's first."""

        submission_id: str
        learner_key: str
        assignment_key: str
        waiting_for: list[str]
        evidence: list[dict[str, Any]]
        evidence_rejected: list[dict[str, Any]]

        def apply(self, aggregate: Any) -> None:
            backlog: Backlog = aggregate
            backlog.parked[self.submission_id] = {
                "learner_key": self.learner_key,
                "assignment_key": self.assignment_key,
                "evidence": self.evidence,
                "evidence_rejected": self.evidence_rejected,
            }

    @dataclass(frozen=True)
    class Released(HubAggregate.Event):
        """`released`: `[{"submission_id", "outcome": "applied" | "moved", "moved_to"?}]`."""

        released: list[dict[str, str]]
        released_by: str

        def apply(self, aggregate: Any) -> None:
            backlog: Backlog = aggregate
            for item in self.released:
                backlog.parked.pop(item["submission_id"], None)

    def release(self, released: list[dict[str, str]], released_by: str) -> None:
        self.trigger_event(self.Released, released=released, released_by=released_by)
