"""The family projection: which event changes which row of the family read model.

It follows `hub` (people, guardians, settings, observer circles, quests, tasks,
enrolments) and `progress` (completions). Events are recognised by their class's
qualified name, as the portfolio's are, so this module imports no command code.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Connection

from hub.domain.base import tenant_of
from hub.domain.learners import normalise_email
from projections.family_view import NAME, FamilyView
from projections.paging import Bulk, PagedProjection

UPSTREAMS = ("hub", "progress")
Handler = Callable[[FamilyView, Connection, Any], None]


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else str(value)


def _tenant(event: Any) -> str:
    return tenant_of(event.originator_id)


def _name(event: Any) -> str:
    return f"{event.given_name} {event.family_name}".strip() or normalise_email(event.email)


# people


def _person(event: Any) -> dict[str, Any]:
    """The people row of a `Learner.Registered`."""
    return {
        "tenant": _tenant(event),
        "person_id": event.originator_id,
        "name": _name(event),
        "email": normalise_email(event.email),
        "role": event.role,
    }


def _learner_registered(view: FamilyView, conn: Connection, event: Any) -> None:
    view.put(conn, view.people, **_person(event))


def _learner_profile_updated(view: FamilyView, conn: Connection, event: Any) -> None:
    key = {"tenant": _tenant(event), "person_id": event.originator_id}
    view.change(conn, view.people, key, name=_name(event), email=normalise_email(event.email))


def _learner_role_changed(view: FamilyView, conn: Connection, event: Any) -> None:
    view.change(
        conn,
        view.people,
        {"tenant": _tenant(event), "person_id": event.originator_id},
        role=event.role,
    )


def _account_opened(view: FamilyView, conn: Connection, event: Any) -> None:
    email = normalise_email(event.email)
    view.put(
        conn,
        view.people,
        tenant=_tenant(event),
        person_id=event.originator_id,
        name=event.name or email,
        email=email,
        role=event.role,
    )


# guardians and settings


def _fields(event: Any, *names: str) -> dict[str, Any]:
    """The event's attributes `names`, as row values (the columns are named alike)."""
    return {name: getattr(event, name) for name in names}


def _guardian_linked(view: FamilyView, conn: Connection, event: Any) -> None:
    fields = _fields(event, "guardian_id", "student_id", "relationship", "source")
    view.put(conn, view.guardians, tenant=_tenant(event), **fields)


def _guardian_unlinked(view: FamilyView, conn: Connection, event: Any) -> None:
    fields = _fields(event, "guardian_id", "student_id")
    view.remove(conn, view.guardians, tenant=_tenant(event), **fields)


def _rhythm_set(view: FamilyView, conn: Connection, event: Any) -> None:
    view.put(conn, view.settings, tenant=_tenant(event), rhythm_days=int(event.rhythm_days))


# observers

_RIGHTS = ("can_view_evidence", "can_comment")
_INVITED = ("invitation_id", "student_id", "email", "name", "relationship", "sent_at")


def _invitation_sent(view: FamilyView, conn: Connection, event: Any) -> None:
    view.put(
        conn,
        view.invitations,
        tenant=_tenant(event),
        **_fields(event, *_INVITED, *_RIGHTS, "expires_at"),
        status="pending",
        observer_id="",
        settled_at="",
    )


def _invitation_key(event: Any) -> dict[str, str]:
    return {"tenant": _tenant(event), "invitation_id": event.invitation_id}


def _invitation_cancelled(view: FamilyView, conn: Connection, event: Any) -> None:
    key = _invitation_key(event)
    view.change(conn, view.invitations, key, status="cancelled", settled_at=event.cancelled_at)


def _invitation_accepted(view: FamilyView, conn: Connection, event: Any) -> None:
    settled = {"observer_id": event.observer_id, "settled_at": event.accepted_at}
    view.change(conn, view.invitations, _invitation_key(event), status="accepted", **settled)
    view.put(
        conn,
        view.observers,
        **_link_key(event),
        **_fields(event, "relationship", *_RIGHTS),
        linked_at=event.accepted_at,
        status="active",
        removed_at="",
    )


def _link_key(event: Any) -> dict[str, str]:
    return {"tenant": _tenant(event), **_fields(event, "student_id", "observer_id")}


def _observer_removed(view: FamilyView, conn: Connection, event: Any) -> None:
    view.change(
        conn, view.observers, _link_key(event), status="removed", removed_at=event.removed_at
    )


def _permissions_changed(view: FamilyView, conn: Connection, event: Any) -> None:
    view.change(conn, view.observers, _link_key(event), **_fields(event, *_RIGHTS))


def _comment_left(view: FamilyView, conn: Connection, event: Any) -> None:
    fields = _fields(event, "comment_id", "student_id", "observer_id", "task_id", "text", "left_at")
    view.put(conn, view.comments, tenant=_tenant(event), **fields)


# quests, tasks, enrolments


def _quest_named(view: FamilyView, conn: Connection, event: Any) -> None:
    title = _text(event.details.get("title") or getattr(event, "external_id", ""))
    view.put(conn, view.quests, tenant=_tenant(event), quest_id=event.originator_id, title=title)


def _task_synced(view: FamilyView, conn: Connection, event: Any) -> None:
    view.put(
        conn,
        view.tasks,
        tenant=_tenant(event),
        task_id=event.originator_id,
        quest_id=event.quest_id,
        title=_text(event.details.get("title")),
        due_at=_text(event.details.get("due_at")),
    )


def _task_updated(view: FamilyView, conn: Connection, event: Any) -> None:
    key = {"tenant": _tenant(event), "task_id": event.originator_id}
    details = event.details
    view.change(
        conn,
        view.tasks,
        key,
        title=_text(details.get("title")),
        due_at=_text(details.get("due_at")),
    )


def _enrolment(event: Any) -> dict[str, Any]:
    return {"tenant": _tenant(event), "learner_id": event.originator_id, "quest_id": event.quest_id}


def _enrolled(view: FamilyView, conn: Connection, event: Any) -> None:
    view.put(conn, view.enrolments, **_enrolment(event))


def _dropped(view: FamilyView, conn: Connection, event: Any) -> None:
    view.remove(
        conn,
        view.enrolments,
        tenant=_tenant(event),
        learner_id=event.originator_id,
        quest_id=event.quest_id,
    )


# progress


def _work(event: Any) -> dict[str, Any]:
    return {
        "submitted_at": _text(event.submitted_at),
        "source": _text(getattr(event, "source", "")),
        "evidence": list(getattr(event, "evidence", None) or []),
        "text": _text(getattr(event, "text", "")),
    }


def _completion(event: Any) -> dict[str, Any]:
    return {
        "tenant": tenant_of(event.learner_id),
        "learner_id": event.learner_id,
        "task_id": event.task_id,
        "quest_id": _text(event.quest_id),
        "task_title": _text(event.task_title),
        **_work(event),
    }


def _task_completed(view: FamilyView, conn: Connection, event: Any) -> None:
    view.put(conn, view.completions, **_completion(event))


def _task_resubmitted(view: FamilyView, conn: Connection, event: Any) -> None:
    key = {
        "tenant": tenant_of(event.learner_id),
        "learner_id": event.learner_id,
        "task_id": event.task_id,
    }
    view.change(conn, view.completions, key, **_work(event))


HANDLERS: dict[str, Handler] = {
    "Learner.Registered": _learner_registered,
    "Learner.ProfileUpdated": _learner_profile_updated,
    "Learner.RoleChanged": _learner_role_changed,
    "Learner.RoleAdded": _learner_role_changed,  # `role`: the main role after, as here
    "Learner.Enrolled": _enrolled,
    "Learner.Dropped": _dropped,
    "Account.Opened": _account_opened,
    "Guardianship.Linked": _guardian_linked,
    "Guardianship.Relinked": _guardian_linked,
    "Guardianship.Unlinked": _guardian_unlinked,
    "FamilySettings.Configured": _rhythm_set,
    "FamilySettings.RhythmChanged": _rhythm_set,
    "ObserverCircle.InvitationSent": _invitation_sent,
    "ObserverCircle.InvitationCancelled": _invitation_cancelled,
    "ObserverCircle.InvitationAccepted": _invitation_accepted,
    "ObserverCircle.ObserverRemoved": _observer_removed,
    "ObserverCircle.PermissionsChanged": _permissions_changed,
    "ObserverCircle.CommentLeft": _comment_left,
    "Quest.Synced": _quest_named,
    "Quest.Updated": _quest_named,
    "Task.Synced": _task_synced,
    "Task.Updated": _task_updated,
    "Progress.TaskCompleted": _task_completed,
    "Progress.TaskResubmitted": _task_resubmitted,
}
"""Handlers by event class `__qualname__`; every other event only moves the position."""


class _Puts(Bulk[FamilyView]):
    """Events that each put one row of `table` (`row` gives it): written with `put_many`."""

    table: ClassVar[str]

    @staticmethod
    @abstractmethod
    def row(event: Any) -> dict[str, Any]:
        """The row the event puts."""

    def write(self, conn: Connection, events: Sequence[Any]) -> None:
        table = getattr(self.view, self.table)
        self.view.put_many(conn, table, [self.row(e) for e in events])


class _Registrations(_Puts):
    kinds = frozenset({"Learner.Registered"})
    table = "people"
    row = staticmethod(_person)


class _Enrolments(_Puts):
    kinds = frozenset({"Learner.Enrolled"})
    table = "enrolments"
    row = staticmethod(_enrolment)


class _Completions(_Puts):
    kinds = frozenset({"Progress.TaskCompleted"})
    table = "completions"
    row = staticmethod(_completion)


class FamilyProjection(PagedProjection[FamilyView]):
    """Every event moves its upstream's position; those in `HANDLERS` change rows too. A
    page's registrations, enrolments and completions are written together
    (`projections.paging`): each kind puts rows of its own table."""

    name = NAME
    topics = ()
    handlers = HANDLERS
    bulk_classes = (_Registrations, _Enrolments, _Completions)
