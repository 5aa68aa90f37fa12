"""Submissions of work, as received and verified.

What happens next is recorded by the connectors in their own logs: the `evidence`
application collects the files, `progress` completes the task (docs/spark.md).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id


def submission_id(
    tenant: str, source: str, learner_key: str, assignment_key: str, submitted_at: str
) -> str:
    """Spark retries deliver the same (learner, assignment, submitted_at): one submission."""
    return aggregate_id(tenant, "Submission", source, learner_key, assignment_key, submitted_at)


class Submission(HubAggregate):
    """Work a learner handed in; the received event keeps the verified body for auditors."""

    @staticmethod
    def create_id(
        tenant: str,
        source: str,
        learner_key: str,
        assignment_key: str,
        submitted_at: str,
        **_: object,
    ) -> str:
        return submission_id(tenant, source, learner_key, assignment_key, submitted_at)

    @event("Received")
    def __init__(
        self,
        tenant: str,
        source: str,
        learner_key: str,
        assignment_key: str,
        submitted_at: str,
        course_key: str,
        text: str,
        files: list[dict[str, Any]],
        grade: float | None,
        verified: dict[str, Any],
    ) -> None:
        self.source = source
        self.learner_key = learner_key
        self.assignment_key = assignment_key
        self.course_key = course_key
        self.submitted_at = submitted_at
        self.text = text
        self.files = files
        self.grade = grade
