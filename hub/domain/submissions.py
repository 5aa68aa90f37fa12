"""Submissions of work: received (verified), then their evidence stored, then applied."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id


def submission_id(tenant: str, source: str, learner_key: str, assignment_key: str,
                  submitted_at: str) -> str:
    """Spark retries deliver the same (learner, assignment, submitted_at): one submission."""
    return aggregate_id(tenant, "Submission", source, learner_key, assignment_key, submitted_at)


class Submission(HubAggregate):
    """Work a learner handed in; the received event keeps the verified body for auditors."""

    @staticmethod
    def create_id(tenant: str, source: str, learner_key: str, assignment_key: str,
                  submitted_at: str, **_: object) -> str:
        return submission_id(tenant, source, learner_key, assignment_key, submitted_at)

    @event("Received")
    def __init__(self, tenant: str, source: str, learner_key: str, assignment_key: str,
                 submitted_at: str, course_key: str, text: str, files: list[dict[str, Any]],
                 grade: float | None, verified: dict[str, Any]) -> None:
        self.source = source
        self.learner_key = learner_key
        self.assignment_key = assignment_key
        self.course_key = course_key
        self.submitted_at = submitted_at
        self.text = text
        self.files = files
        self.grade = grade
        self.evidence: dict[int, dict[str, Any]] = {}
        self.applied_to: str | None = None

    @event("EvidenceStored")
    def store_evidence(self, index: int, blob: dict[str, Any]) -> None:
        self.evidence[index] = {"status": "stored", **blob}

    @event("EvidenceRejected")
    def reject_evidence(self, index: int, reason: str, detail: str) -> None:
        self.evidence[index] = {"status": "rejected", "reason": reason, "detail": detail}

    @property
    def evidence_settled(self) -> bool:
        return len(self.evidence) == len(self.files)

    @event("Parked")
    def park(self, waiting_for: list[str]) -> None:
        """Kept until the learner (SSO, roster) or the task (course sync) is known."""

    @event("Applied")
    def apply_to(self, learner_id: str, task_id: str) -> None:
        self.applied_to = task_id
