"""Family commands on the `hub` app: one function each, deciding on aggregates, one save.

    link_guardian / unlink_guardian   Guardianship.Linked | Relinked | Unlinked
    set_rhythm_days                   FamilySettings.Configured | RhythmChanged
    invite_observer                   ObserverCircle.InvitationSent (+ Started, the first time)
    cancel_invitation                 ObserverCircle.InvitationCancelled
    accept_invitation                 ObserverCircle.InvitationAccepted (+ Learner.Registered
                                      (observer) and EmailIndex.Claimed for a new observer, or
                                      Learner.RoleAdded for a person new to it: atomic)
    remove_observer                   ObserverCircle.ObserverRemoved
    change_permissions                ObserverCircle.PermissionsChanged
    leave_comment                     ObserverCircle.CommentLeft

Callers set the `event_context` and pass the clock (`now`), so expiry is decided against
the time the caller says, and tests say which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hub.application import Hub
from hub.domain.accounts import Account
from hub.domain.base import HubAggregate, check_tenant, tenant_of
from hub.domain.guardians import FamilySettings, Guardianship, family_settings_id, guardianship_id
from hub.domain.learners import (
    EmailIndex,
    Learner,
    email_index_id,
    hub_person,
    normalise_email,
)
from hub.domain.observers import (
    ObserverCircle,
    SignInRequiredError,
    circle_id,
    circle_of_code,
    new_invitation_code,
)
from hub.family.errors import (
    MAX_RHYTHM_DAYS,
    CrossTenantError,
    RhythmDaysError,
    SamePersonError,
    UnknownPersonError,
)
from hub.unit_of_work import get_or_none, retrying, save_changed, saved

OBSERVER = "observer"


@dataclass(frozen=True)
class Recorded:
    """What a command wrote: the aggregate it changed, and the log position (None: nothing
    changed, the command was a repeat)."""

    aggregate_id: str
    position: int | None

    @property
    def changed(self) -> bool:
        return self.position is not None


@dataclass(frozen=True)
class SentInvitation:
    invitation_id: str
    code: str  # shown once, to the student who sends it; only its hash is stored
    expires_at: str
    position: int


@dataclass(frozen=True)
class Acceptance:
    tenant: str
    student_id: str
    observer_id: str
    new_account: bool
    position: int


@dataclass(frozen=True)
class LeftComment:
    comment_id: str
    position: int


def check_same_tenant(tenant: str, *person_ids: str) -> None:
    check_tenant(tenant)
    for person_id in person_ids:
        if tenant_of(person_id) != tenant:
            msg = f"{person_id!r} does not belong to tenant {tenant!r}"
            raise CrossTenantError(msg)


def person(hub: Hub, tenant: str, person_id: str) -> Learner | Account:
    """The learner or account `person_id` of `tenant`, or `UnknownPersonError`."""
    check_same_tenant(tenant, person_id)
    kind = person_id.split(".")[1:2]
    found = get_or_none(hub, person_id) if kind in (["Learner"], ["Account"]) else None
    if not isinstance(found, Learner | Account):
        msg = f"no learner or account has the id {person_id!r}"
        raise UnknownPersonError(msg)
    return found


# -- parents and guardians ----------------------------------------------------------------


def link_guardian(
    hub: Hub, tenant: str, guardian_id: str, student_id: str, *, relationship: str, source: str
) -> Recorded:
    """Link a parent or guardian to a student; a repeat of a live link records nothing."""
    if guardian_id == student_id:
        msg = "a guardian cannot be their own student"
        raise SamePersonError(msg)
    person(hub, tenant, guardian_id)
    person(hub, tenant, student_id)

    def once() -> Recorded:
        found_id = guardianship_id(tenant, guardian_id, student_id)
        link: Guardianship | None = get_or_none(hub, found_id)
        if link is None:
            link = Guardianship(
                tenant=tenant,
                guardian_id=guardian_id,
                student_id=student_id,
                relationship=relationship,
                source=source,
            )
        elif not link.active or link.relationship != relationship:
            link.relink(relationship, source)
        return Recorded(link.id, save_changed(hub, link))

    return retrying(once)


def unlink_guardian(
    hub: Hub, tenant: str, guardian_id: str, student_id: str, *, source: str
) -> Recorded:
    """End a guardian's link; unlinking what is not linked records nothing."""
    check_same_tenant(tenant, guardian_id, student_id)

    def once() -> Recorded:
        found_id = guardianship_id(tenant, guardian_id, student_id)
        link: Guardianship | None = get_or_none(hub, found_id)
        if link is None or not link.active:
            return Recorded(found_id, None)
        link.unlink(source)
        return Recorded(link.id, save_changed(hub, link))

    return retrying(once)


def set_rhythm_days(hub: Hub, tenant: str, days: int) -> Recorded:
    """How many days since the last submission keep a student's rhythm green."""
    check_tenant(tenant)
    if not 1 <= days <= MAX_RHYTHM_DAYS:
        msg = f"the rhythm is 1 to {MAX_RHYTHM_DAYS} days ({days} sent)"
        raise RhythmDaysError(msg)

    def once() -> Recorded:
        settings: FamilySettings | None = get_or_none(hub, family_settings_id(tenant))
        if settings is None:
            settings = FamilySettings(tenant=tenant, rhythm_days=days)
        elif settings.rhythm_days != days:
            settings.change_rhythm(days)
        return Recorded(settings.id, save_changed(hub, settings))

    return retrying(once)


# -- observers ----------------------------------------------------------------------------


def circle(hub: Hub, tenant: str, student_id: str) -> ObserverCircle | None:
    """The student's observers as the log holds them now (read your own writes)."""
    check_same_tenant(tenant, student_id)
    found: ObserverCircle | None = get_or_none(hub, circle_id(tenant, student_id))
    return found


def _circle_or_new(hub: Hub, tenant: str, student_id: str) -> ObserverCircle:
    return circle(hub, tenant, student_id) or ObserverCircle(tenant=tenant, student_id=student_id)


def _circle_or_none(hub: Hub, tenant: str, student_id: str) -> ObserverCircle:
    found = circle(hub, tenant, student_id)
    return found or ObserverCircle(tenant=tenant, student_id=student_id)  # empty: refuses all


def invite_observer(
    hub: Hub,
    tenant: str,
    student_id: str,
    *,
    email: str,
    name: str,
    relationship: str,
    now: datetime,
    can_view_evidence: bool = True,
    can_comment: bool = True,
) -> SentInvitation:
    """Invite an observer; the code is returned once, to be sent to them."""
    person(hub, tenant, student_id)

    def once() -> SentInvitation:
        found = _circle_or_new(hub, tenant, student_id)
        code = new_invitation_code(found.id)
        invitation = found.invite(
            code=code,
            email=email,
            name=name,
            relationship=relationship,
            can_view_evidence=can_view_evidence,
            can_comment=can_comment,
            now=now,
        )
        position = saved(hub, found)
        expires_at = str(found.invitations[invitation]["expires_at"])
        return SentInvitation(invitation, code, expires_at, position)

    return retrying(once)


def _change_circle(
    hub: Hub, tenant: str, student_id: str, change: Callable[[ObserverCircle], object]
) -> Recorded:
    """Apply `change` to the student's circle and save what it recorded (retried on a race)."""

    def once() -> Recorded:
        found = _circle_or_none(hub, tenant, student_id)
        change(found)
        return Recorded(found.id, save_changed(hub, found))

    return retrying(once)


def cancel_invitation(
    hub: Hub, tenant: str, student_id: str, invitation_id: str, *, now: datetime
) -> Recorded:
    return _change_circle(hub, tenant, student_id, lambda c: c.cancel(invitation_id, now))


def accept_invitation(
    hub: Hub, code: str, *, now: datetime, name: str = "", signed_in_as: str | None = None
) -> Acceptance:
    """Link the invited address's person to the student: a new observer account, or the
    existing learner or account that holds the address, who must be the one signed in
    (`signed_in_as`; `SignInRequiredError` otherwise, and nothing is recorded). A code works
    once, within its 7 days."""
    found_id = circle_of_code(code)
    tenant = tenant_of(found_id)

    def once() -> Acceptance:
        found: ObserverCircle | None = get_or_none(hub, found_id)
        if found is None:
            found = ObserverCircle(tenant=tenant, student_id="")  # no invitations: not found
        invitation_id = found.invitation_for(code)
        found.check_pending(invitation_id, now)
        invited = found.invitations[invitation_id]
        email = normalise_email(invited["email"])
        index: EmailIndex | None = get_or_none(hub, email_index_id(tenant, email))
        made: list[HubAggregate] = []
        changed: list[HubAggregate] = []
        if index is not None:
            observer_id = index.learner_id
            if signed_in_as != observer_id:
                msg = (
                    f"{email} already has an account here: sign in as {email}, "
                    "then open the invitation again"
                )
                raise SignInRequiredError(msg)
            held = get_or_none(hub, observer_id)  # an `Account` of before is an observer
            if isinstance(held, Learner) and held.take_on_role(OBSERVER, "invitation"):
                changed = [held]
        else:
            observer = hub_person(tenant, email, name.strip() or invited["name"], OBSERVER)
            made = [observer, EmailIndex(tenant=tenant, email=email, learner_id=observer.id)]
            observer_id = observer.id
        found.accept(invitation_id, observer_id=observer_id, new_account=bool(made), now=now)
        position = saved(hub, found, *made, *changed)
        return Acceptance(tenant, found.student_id, observer_id, bool(made), position)

    return retrying(once)


def remove_observer(
    hub: Hub, tenant: str, student_id: str, observer_id: str, *, now: datetime
) -> Recorded:
    return _change_circle(hub, tenant, student_id, lambda c: c.remove(observer_id, now))


def change_permissions(
    hub: Hub,
    tenant: str,
    student_id: str,
    observer_id: str,
    *,
    can_view_evidence: bool,
    can_comment: bool,
) -> Recorded:
    def change(found: ObserverCircle) -> None:
        found.change_permissions(
            observer_id, can_view_evidence=can_view_evidence, can_comment=can_comment
        )

    return _change_circle(hub, tenant, student_id, change)


def check_can_comment(hub: Hub, tenant: str, observer_id: str, student_id: str) -> None:
    """Refuse, as `leave_comment` would, an observer who is not linked or may not comment."""
    check_same_tenant(tenant, observer_id, student_id)
    _circle_or_none(hub, tenant, student_id).check_can_comment(observer_id)


def leave_comment(
    hub: Hub,
    tenant: str,
    observer_id: str,
    student_id: str,
    *,
    task_id: str,
    text: str,
    now: datetime,
) -> LeftComment:
    """An observer's comment on the student's completed task (the caller has checked that
    the task is the student's completed work)."""
    check_same_tenant(tenant, observer_id, student_id)

    def once() -> LeftComment:
        found = _circle_or_none(hub, tenant, student_id)
        comment_id = found.comment(observer_id, task_id=task_id, text=text, now=now)
        return LeftComment(comment_id, saved(hub, found))

    return retrying(once)
