"""Observers of a student: invitations, the links they become, permissions and comments.

Everything about one student's observers is one `ObserverCircle` aggregate (its id is
derived from the student's), so every decision (is this invitation still pending, is this
observer still linked and allowed to comment) is taken on one consistent state, and a
comment racing a removal loses on the version check.

An invitation code is `<tenant>.<circle hex>.<secret>`: it names the circle it opens,
so accepting it is one read; only its SHA-256 is stored (in the event), never the code.

Errors (all `ObserverError`):

    ObserverError
    ├── InvitationError           the code cannot be accepted or cancelled
    │   ├── InvitationNotFoundError     malformed, unknown, or another student's
    │   ├── InvitationExpiredError      older than its 7 days
    │   ├── InvitationUsedError         already accepted (a code works once)
    │   └── InvitationCancelledError    the student cancelled it
    ├── SelfObservationError      the student's own address accepted their invitation
    ├── LinkError
    │   ├── ObserverNotLinkedError      never linked to this student
    │   └── ObserverRemovedError        linked once, removed since
    └── CommentError
        ├── CommentNotAllowedError      the link has no comment right
        ├── CommentEmptyError           nothing but whitespace
        └── CommentTooLongError         more than 2,000 characters
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id, check_tenant
from hub.domain.learners import normalise_email

INVITATION_LIFETIME = timedelta(days=7)
MAX_COMMENT_CHARS = 2000
PENDING, ACCEPTED, CANCELLED, EXPIRED = "pending", "accepted", "cancelled", "expired"
ACTIVE, REMOVED = "active", "removed"
_CODE = re.compile(r"^([a-z0-9][a-z0-9-]{0,39})\.([0-9a-f]{32})\.([A-Za-z0-9_-]{32,64})$")


class ObserverError(Exception):
    """The base of every refusal about observers."""


class InvitationError(ObserverError):
    """An invitation code that cannot be used."""


class InvitationNotFoundError(InvitationError):
    """Raised for a code that is malformed or names no invitation."""


class InvitationExpiredError(InvitationError):
    """Raised for a code older than `INVITATION_LIFETIME`."""


class InvitationUsedError(InvitationError):
    """Raised for a code that was already accepted."""


class InvitationCancelledError(InvitationError):
    """Raised for a code the student cancelled."""


class SelfObservationError(ObserverError):
    """Raised when the student would become their own observer."""


class LinkError(ObserverError):
    """An observer who is not (or no longer) linked to the student."""


class ObserverNotLinkedError(LinkError):
    """Raised for an observer never linked to the student."""


class ObserverRemovedError(LinkError):
    """Raised for an observer the student removed."""


class CommentError(ObserverError):
    """A comment that cannot be left."""


class CommentNotAllowedError(CommentError):
    """Raised when the observer's link has no comment right."""


class CommentEmptyError(CommentError):
    """Raised for a comment of only whitespace."""


class CommentTooLongError(CommentError):
    """Raised for a comment longer than `MAX_COMMENT_CHARS`."""


def circle_id(tenant: str, student_id: str) -> str:
    return aggregate_id(tenant, "ObserverCircle", student_id)


def code_sha256(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def new_invitation_code(circle: str) -> str:
    """A fresh code for the circle `circle` (a secret of 32 random bytes)."""
    tenant, _, hex_id = circle.split(".")
    return f"{tenant}.{hex_id}.{secrets.token_urlsafe(32)}"


def circle_of_code(code: str) -> str:
    """The id of the circle a code opens; `InvitationNotFoundError` if it is malformed."""
    match = _CODE.match(code)
    if match is None:
        msg = "this invitation code is not valid: open the link from the invitation again"
        raise InvitationNotFoundError(msg)
    tenant, hex_id, _ = match.groups()
    return f"{check_tenant(tenant)}.ObserverCircle.{hex_id}"


def invitation_id(circle: str, digest: str) -> str:
    return uuid5(NAMESPACE_URL, f"{circle}\x1f{digest}").hex


def check_comment(text: str) -> str:
    """The comment as stored (trimmed), or why it cannot be."""
    trimmed = text.strip()
    if not trimmed:
        msg = "write something: a comment cannot be empty"
        raise CommentEmptyError(msg)
    if len(trimmed) > MAX_COMMENT_CHARS:
        msg = f"a comment has at most {MAX_COMMENT_CHARS} characters ({len(trimmed)} sent)"
        raise CommentTooLongError(msg)
    return trimmed


class ObserverCircle(HubAggregate):
    """One student's invitations, observers (with their rights) and the comments left."""

    @staticmethod
    def create_id(tenant: str, student_id: str, **_: object) -> str:
        return circle_id(tenant, student_id)

    @event("Started")
    def __init__(self, tenant: str, student_id: str) -> None:
        self.student_id = student_id
        self.invitations: dict[str, dict[str, Any]] = {}
        self.links: dict[str, dict[str, Any]] = {}
        self.comments: list[dict[str, Any]] = []

    # invitations

    def invite(
        self,
        *,
        code: str,
        email: str,
        name: str,
        relationship: str,
        can_view_evidence: bool,
        can_comment: bool,
        now: datetime,
    ) -> str:
        """Record an invitation for `code` (made by `new_invitation_code`); its id."""
        digest = code_sha256(code)
        found = invitation_id(self.id, digest)
        self._invitation_sent(
            student_id=self.student_id,
            invitation_id=found,
            code_sha256=digest,
            email=normalise_email(email),
            name=name,
            relationship=relationship,
            can_view_evidence=can_view_evidence,
            can_comment=can_comment,
            sent_at=now.isoformat(),
            expires_at=(now + INVITATION_LIFETIME).isoformat(),
        )
        return found

    @event("InvitationSent")
    def _invitation_sent(
        self,
        student_id: str,
        invitation_id: str,
        code_sha256: str,
        email: str,
        name: str,
        relationship: str,
        can_view_evidence: bool,
        can_comment: bool,
        sent_at: str,
        expires_at: str,
    ) -> None:
        self.invitations[invitation_id] = {
            "code_sha256": code_sha256,
            "email": email,
            "name": name,
            "relationship": relationship,
            "can_view_evidence": can_view_evidence,
            "can_comment": can_comment,
            "sent_at": sent_at,
            "expires_at": expires_at,
            "status": PENDING,
        }

    def invitation_for(self, code: str) -> str:
        """The id of the invitation `code` is for; `InvitationNotFoundError` if none."""
        digest = code_sha256(code)
        found = invitation_id(self.id, digest)
        invitation = self.invitations.get(found)
        if invitation is None or not hmac.compare_digest(invitation["code_sha256"], digest):
            msg = "no invitation has this code: ask the student to invite you again"
            raise InvitationNotFoundError(msg)
        return found

    def status_of(self, invitation_id: str, now: datetime) -> str:
        invitation = self.invitations[invitation_id]
        status = str(invitation["status"])
        if status == PENDING and datetime.fromisoformat(invitation["expires_at"]) <= now:
            return EXPIRED
        return status

    def check_pending(self, invitation_id: str, now: datetime) -> None:
        if invitation_id not in self.invitations:
            msg = "this student has no such invitation"
            raise InvitationNotFoundError(msg)
        status = self.status_of(invitation_id, now)
        if status == ACCEPTED:
            msg = "this invitation was already accepted: a code works once"
            raise InvitationUsedError(msg)
        if status == CANCELLED:
            msg = "the student cancelled this invitation: ask them to invite you again"
            raise InvitationCancelledError(msg)
        if status == EXPIRED:
            expired = self.invitations[invitation_id]["expires_at"]
            msg = f"this invitation expired at {expired}: ask the student to invite you again"
            raise InvitationExpiredError(msg)

    def cancel(self, invitation_id: str, now: datetime) -> None:
        self.check_pending(invitation_id, now)
        self._invitation_cancelled(
            student_id=self.student_id, invitation_id=invitation_id, cancelled_at=now.isoformat()
        )

    @event("InvitationCancelled")
    def _invitation_cancelled(self, student_id: str, invitation_id: str, cancelled_at: str) -> None:
        self.invitations[invitation_id]["status"] = CANCELLED

    def accept(
        self, invitation_id: str, *, observer_id: str, new_account: bool, now: datetime
    ) -> None:
        """Link `observer_id` with the invitation's relationship and rights."""
        self.check_pending(invitation_id, now)
        if observer_id == self.student_id:
            msg = "this invitation was sent to the student's own address"
            raise SelfObservationError(msg)
        invited = self.invitations[invitation_id]
        self._invitation_accepted(
            student_id=self.student_id,
            invitation_id=invitation_id,
            observer_id=observer_id,
            new_account=new_account,
            relationship=invited["relationship"],
            can_view_evidence=invited["can_view_evidence"],
            can_comment=invited["can_comment"],
            accepted_at=now.isoformat(),
        )

    @event("InvitationAccepted")
    def _invitation_accepted(
        self,
        student_id: str,
        invitation_id: str,
        observer_id: str,
        new_account: bool,
        relationship: str,
        can_view_evidence: bool,
        can_comment: bool,
        accepted_at: str,
    ) -> None:
        invitation = self.invitations[invitation_id]
        invitation["status"] = ACCEPTED
        invitation["observer_id"] = observer_id
        self.links[observer_id] = {
            "relationship": relationship,
            "can_view_evidence": can_view_evidence,
            "can_comment": can_comment,
            "linked_at": accepted_at,
            "status": ACTIVE,
        }

    # links

    def check_linked(self, observer_id: str) -> dict[str, Any]:
        link = self.links.get(observer_id)
        if link is None:
            msg = "this observer is not linked to this student"
            raise ObserverNotLinkedError(msg)
        if link["status"] == REMOVED:
            msg = "the student removed this observer: their access has ended"
            raise ObserverRemovedError(msg)
        return link

    def remove(self, observer_id: str, now: datetime) -> None:
        self.check_linked(observer_id)
        self._observer_removed(
            student_id=self.student_id, observer_id=observer_id, removed_at=now.isoformat()
        )

    @event("ObserverRemoved")
    def _observer_removed(self, student_id: str, observer_id: str, removed_at: str) -> None:
        self.links[observer_id]["status"] = REMOVED

    def change_permissions(
        self, observer_id: str, *, can_view_evidence: bool, can_comment: bool
    ) -> bool:
        """Set the observer's rights; False (and nothing recorded) if they were already so."""
        link = self.check_linked(observer_id)
        if (link["can_view_evidence"], link["can_comment"]) == (can_view_evidence, can_comment):
            return False
        self._permissions_changed(
            student_id=self.student_id,
            observer_id=observer_id,
            can_view_evidence=can_view_evidence,
            can_comment=can_comment,
        )
        return True

    @event("PermissionsChanged")
    def _permissions_changed(
        self, student_id: str, observer_id: str, can_view_evidence: bool, can_comment: bool
    ) -> None:
        self.links[observer_id]["can_view_evidence"] = can_view_evidence
        self.links[observer_id]["can_comment"] = can_comment

    # comments

    def check_can_comment(self, observer_id: str) -> None:
        link = self.check_linked(observer_id)
        if not link["can_comment"]:
            msg = "the student has not allowed this observer to comment"
            raise CommentNotAllowedError(msg)

    def comment(self, observer_id: str, *, task_id: str, text: str, now: datetime) -> str:
        """Leave `text` on the student's completed `task_id`; the comment's id."""
        self.check_can_comment(observer_id)
        stored = check_comment(text)
        comment_id = uuid5(NAMESPACE_URL, f"{self.id}\x1f{self.version + 1}").hex
        self._comment_left(
            student_id=self.student_id,
            comment_id=comment_id,
            observer_id=observer_id,
            task_id=task_id,
            text=stored,
            left_at=now.isoformat(),
        )
        return comment_id

    @event("CommentLeft")
    def _comment_left(
        self,
        student_id: str,
        comment_id: str,
        observer_id: str,
        task_id: str,
        text: str,
        left_at: str,
    ) -> None:
        self.comments.append(
            {
                "comment_id": comment_id,
                "observer_id": observer_id,
                "task_id": task_id,
                "text": text,
                "left_at": left_at,
            }
        )
