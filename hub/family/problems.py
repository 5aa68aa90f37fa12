"""The family's problem types, and which refusal answers with which.

Pages (the *pages* helper's) and the JSON API answer an `Access` refusal the same way:
`access_problem(access)`.
"""

from __future__ import annotations

from typing import Any

from hub.domain import observers as o
from hub.family import errors as e
from hub.http.problems import ProblemError, ProblemType

INVITATION_NOT_FOUND = ProblemType("invitation-not-found", "No such invitation", 404)
INVITATION_EXPIRED = ProblemType("invitation-expired", "The invitation has expired", 410)
INVITATION_USED = ProblemType("invitation-used", "The invitation was already accepted", 409)
INVITATION_CANCELLED = ProblemType("invitation-cancelled", "The invitation was cancelled", 410)
SELF_OBSERVATION = ProblemType("self-observation", "A student cannot observe themself", 409)
OBSERVER_NOT_FOUND = ProblemType("observer-not-found", "No such observer", 404)
OBSERVER_ALREADY_REMOVED = ProblemType(
    "observer-already-removed", "The observer was already removed", 409
)
COMMENT_NOT_ALLOWED = ProblemType("comment-not-allowed", "Comments are not allowed", 403)
COMMENT_EMPTY = ProblemType("comment-empty", "The comment is empty", 422)
COMMENT_TOO_LONG = ProblemType("comment-too-long", "The comment is too long", 422)
WORK_NOT_FOUND = ProblemType("work-not-found", "No such completed work", 404)
# Who may see whom (`projections.family.Access.reason` of a refusal).
OTHER_TENANT = ProblemType("other-tenant", "That learner belongs to another tenant", 403)
NOT_LINKED = ProblemType("not-linked", "You are not linked to this learner", 403)
OBSERVER_REMOVED = ProblemType("observer-removed", "The student removed your access", 403)
ROLE_NOT_ALLOWED = ProblemType("role-not-allowed", "Your role cannot do this", 403)
# Admin commands.
CROSS_TENANT = ProblemType("cross-tenant", "A person of another tenant was named", 422)
PERSON_NOT_FOUND = ProblemType("person-not-found", "No such person", 404)
SAME_PERSON = ProblemType("same-person", "A guardian cannot be their own student", 422)
RHYTHM_OUT_OF_RANGE = ProblemType("rhythm-out-of-range", "The rhythm is out of range", 422)

_ACCESS = {"other_tenant": OTHER_TENANT, "not_linked": NOT_LINKED, "link_removed": OBSERVER_REMOVED}

# The observer's side: a link that is missing or ended is a refusal of access.
_AS_OBSERVER: dict[type[Exception], ProblemType] = {
    o.ObserverNotLinkedError: NOT_LINKED,
    o.ObserverRemovedError: OBSERVER_REMOVED,
}
# The student's side: the observer they name is not there to change.
_AS_STUDENT: dict[type[Exception], ProblemType] = {
    o.ObserverNotLinkedError: OBSERVER_NOT_FOUND,
    o.ObserverRemovedError: OBSERVER_ALREADY_REMOVED,
}
_COMMON: dict[type[Exception], ProblemType] = {
    o.InvitationNotFoundError: INVITATION_NOT_FOUND,
    o.InvitationExpiredError: INVITATION_EXPIRED,
    o.InvitationUsedError: INVITATION_USED,
    o.InvitationCancelledError: INVITATION_CANCELLED,
    o.SelfObservationError: SELF_OBSERVATION,
    o.CommentNotAllowedError: COMMENT_NOT_ALLOWED,
    o.CommentEmptyError: COMMENT_EMPTY,
    o.CommentTooLongError: COMMENT_TOO_LONG,
    e.CrossTenantError: CROSS_TENANT,
    e.UnknownPersonError: PERSON_NOT_FOUND,
    e.SamePersonError: SAME_PERSON,
    e.RhythmDaysError: RHYTHM_OUT_OF_RANGE,
}


def access_problem(access: Any) -> ProblemError:
    """The 403 for a refused `projections.family.Access` (duck-typed: `reason`)."""
    kind = _ACCESS.get(str(access.reason), NOT_LINKED)
    return ProblemError(kind, _ACCESS_DETAILS.get(kind, "you cannot see this learner"))


_ACCESS_DETAILS = {
    OTHER_TENANT: "this learner is not in your school's hub",
    NOT_LINKED: "only the learner, their linked parents and their observers can see this",
    OBSERVER_REMOVED: "the student removed you as an observer: your access has ended",
}


def problem_for(error: Exception, *, as_student: bool = False) -> ProblemError:
    """The problem a family refusal answers with (`as_student`: the student's own circle)."""
    table = {**_COMMON, **(_AS_STUDENT if as_student else _AS_OBSERVER)}
    for kind_of_error, kind in table.items():
        if isinstance(error, kind_of_error):
            return ProblemError(kind, str(error))
    raise error
