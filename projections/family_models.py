"""What the family readers answer: plain, frozen values (see `projections.family`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Why access was given or refused (`Access.reason`): hub.family.problems maps each refusal
# to its problem type.
SELF, GUARDIAN, OBSERVER = "self", "guardian", "observer"
OTHER_TENANT, NOT_LINKED, LINK_REMOVED = "other_tenant", "not_linked", "link_removed"
GREEN, YELLOW = "green", "yellow"


@dataclass(frozen=True)
class Access:
    """What a viewer may do with a learner's pages; `reason` says why."""

    can_view: bool
    can_view_evidence: bool
    can_comment: bool
    reason: str

    @classmethod
    def denied(cls, reason: str) -> Access:
        return cls(can_view=False, can_view_evidence=False, can_comment=False, reason=reason)


@dataclass(frozen=True)
class ActiveQuest:
    quest_id: str
    title: str
    done: int
    total: int  # tasks known in the quest (0 before its course is synced)

    @property
    def percent(self) -> int:
        return 0 if not self.total else min(100, round(100 * self.done / self.total))


@dataclass(frozen=True)
class RecentWork:
    """A completed task's latest work (evidence and text empty when not allowed)."""

    task_id: str
    title: str
    quest_id: str
    quest_title: str
    submitted_at: str
    source: str
    evidence: tuple[dict[str, Any], ...]
    text: str


@dataclass(frozen=True)
class DueTask:
    task_id: str
    title: str
    quest_id: str
    quest_title: str
    due_at: str
    overdue: bool


@dataclass(frozen=True)
class StudentSummary:
    """What a parent sees of one linked student."""

    learner_id: str
    name: str
    relationship: str
    rhythm: str  # GREEN: a submission within the tenant's rhythm days; else YELLOW
    last_submitted_at: str | None
    active_quests: tuple[ActiveQuest, ...]
    recent_work: tuple[RecentWork, ...]
    due: tuple[DueTask, ...]


@dataclass(frozen=True)
class ParentView:
    tenant: str
    parent_id: str
    name: str
    rhythm_days: int
    students: tuple[StudentSummary, ...]


@dataclass(frozen=True)
class ObservedStudent:
    learner_id: str
    name: str
    relationship: str
    can_view_evidence: bool
    can_comment: bool
    recent_work: tuple[RecentWork, ...]


@dataclass(frozen=True)
class ObserverView:
    tenant: str
    observer_id: str
    name: str
    students: tuple[ObservedStudent, ...]


@dataclass(frozen=True)
class InvitationLine:
    invitation_id: str
    email: str
    name: str
    relationship: str
    status: str  # pending, expired (pending past its date), accepted, cancelled
    sent_at: str
    expires_at: str
    can_view_evidence: bool
    can_comment: bool


@dataclass(frozen=True)
class ObserverLine:
    observer_id: str
    name: str
    email: str
    relationship: str
    can_view_evidence: bool
    can_comment: bool
    linked_at: str


@dataclass(frozen=True)
class Observers:
    """A student's invitations (every one, newest first) and active observers."""

    invitations: tuple[InvitationLine, ...]
    observers: tuple[ObserverLine, ...]


@dataclass(frozen=True)
class Comment:
    comment_id: str
    observer_id: str
    observer_name: str
    task_id: str
    task_title: str
    text: str
    left_at: str
