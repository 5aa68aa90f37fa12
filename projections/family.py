"""The family read model's readers: parents' and observers' views, a student's observers and
comments, and the one access decision every page that shows a learner asks.

    parent_view(engine, tenant, parent_id, now=)       linked students: active quests with
                                                       progress, recent work, due dates,
                                                       learning rhythm (green / yellow)
    observer_view(engine, tenant, observer_id)         linked students, evidence only where
                                                       the link allows it
    observers_of(engine, tenant, learner_id, now=)     a student's invitations and observers
    comments_on(engine, tenant, learner_id)            observers' comments, newest first
    access(engine, tenant, viewer_id, viewer_role, learner_id) -> Access

Every query takes the tenant and every id is checked against it: nothing crosses tenants.
The projection itself is in `projections.family_events`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from time import monotonic
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, select

from projections import status
from projections.family_events import UPSTREAMS, FamilyProjection
from projections.family_models import (
    GUARDIAN,
    LINK_REMOVED,
    NOT_LINKED,
    OBSERVER,
    OTHER_TENANT,
    SELF,
    Access,
    ActiveQuest,
    Comment,
    DueTask,
    InvitationLine,
    ObservedStudent,
    ObserverLine,
    Observers,
    ObserverView,
    ParentView,
    RecentWork,
    StudentSummary,
)
from projections.family_view import NAME, FamilyView
from projections.family_work import (
    LEARNER,
    TENANT,
    active_quests,
    due_tasks,
    in_tenant,
    instant,
    name_of,
    now_or_utc,
    param,
    read_view,
    recent_work,
    rhythm,
    rhythm_days,
)

__all__ = [
    "NAME",
    "Access",
    "ActiveQuest",
    "Comment",
    "DueTask",
    "FamilyProjection",
    "FamilyReader",
    "FamilyView",
    "InvitationLine",
    "ObservedStudent",
    "ObserverLine",
    "ObserverView",
    "Observers",
    "ParentView",
    "RecentWork",
    "StudentSummary",
    "access",
    "all_rows",
    "comments_on",
    "completed_task",
    "observer_view",
    "observers_of",
    "parent_view",
    "rhythm",
    "wait_for",
]

PARENT_ROLES = frozenset({"parent", "guardian"})
# Bound parameters of the prepared queries (`family_work` says why they are prepared).
GUARDIAN_ID, OBSERVER_ID = param("guardian_id"), param("observer_id")
STUDENT_ID = param("student_id")
OBSERVER_ROLE = "observer"


# -- access -------------------------------------------------------------------------------


def access(
    engine: Engine, tenant: str, viewer_id: str, viewer_role: str, learner_id: str
) -> Access:
    """May `viewer_id` (signed in as `viewer_role`) see `learner_id`'s pages, and how much."""
    if not in_tenant(tenant, viewer_id, learner_id):
        return Access.denied(OTHER_TENANT)
    if viewer_id == learner_id:
        return Access(can_view=True, can_view_evidence=True, can_comment=False, reason=SELF)
    if viewer_role in PARENT_ROLES:
        return read_view(
            engine, lambda c, v: _guardian_access(c, v, tenant, viewer_id, learner_id), None
        ) or Access.denied(NOT_LINKED)
    if viewer_role == OBSERVER_ROLE:
        return read_view(
            engine, lambda c, v: _observer_access(c, v, tenant, viewer_id, learner_id), None
        ) or Access.denied(NOT_LINKED)
    return Access.denied(NOT_LINKED)


@lru_cache(maxsize=32)
def _guardian_sql(view: FamilyView) -> Select[Any]:
    g = view.guardians.c
    return select(g.relationship).where(
        g.tenant == TENANT, g.guardian_id == GUARDIAN_ID, g.student_id == STUDENT_ID
    )


def _guardian_access(
    conn: Connection, view: FamilyView, tenant: str, guardian_id: str, student_id: str
) -> Access | None:
    params = {"tenant": tenant, "guardian_id": guardian_id, "student_id": student_id}
    found = conn.execute(_guardian_sql(view), params).first()
    if found is None:
        return None
    return Access(can_view=True, can_view_evidence=True, can_comment=False, reason=GUARDIAN)


@lru_cache(maxsize=32)
def _observer_link_sql(view: FamilyView) -> Select[Any]:
    o = view.observers.c
    return select(o.status, o.can_view_evidence, o.can_comment).where(
        o.tenant == TENANT, o.observer_id == OBSERVER_ID, o.student_id == STUDENT_ID
    )


def _observer_access(
    conn: Connection, view: FamilyView, tenant: str, observer_id: str, student_id: str
) -> Access | None:
    params = {"tenant": tenant, "observer_id": observer_id, "student_id": student_id}
    link = conn.execute(_observer_link_sql(view), params).first()
    if link is None:
        return None
    if link.status != "active":
        return Access.denied(LINK_REMOVED)
    return Access(
        can_view=True,
        can_view_evidence=bool(link.can_view_evidence),
        can_comment=bool(link.can_comment),
        reason=OBSERVER,
    )


# -- parents ------------------------------------------------------------------------------


def parent_view(
    engine: Engine, tenant: str, parent_id: str, *, now: datetime | None = None
) -> ParentView | None:
    """What `parent_id` sees: each linked student of `tenant`; None for another tenant's id."""
    if not in_tenant(tenant, parent_id):
        return None
    return read_view(  # type: ignore[no-any-return]
        engine, lambda conn, view: _parent(conn, view, tenant, parent_id, now_or_utc(now)), None
    )


@lru_cache(maxsize=32)
def _children_sql(view: FamilyView) -> Select[Any]:
    g, p = view.guardians.c, view.people.c
    return (
        select(g.student_id, g.relationship, p.name)
        .select_from(
            view.guardians.outerjoin(
                view.people, and_(p.tenant == g.tenant, p.person_id == g.student_id)
            )
        )
        .where(g.tenant == TENANT, g.guardian_id == GUARDIAN_ID)
        .order_by(p.name, g.student_id)
    )


def _parent(
    conn: Connection, view: FamilyView, tenant: str, parent_id: str, now: datetime
) -> ParentView:
    params = {"tenant": tenant, "guardian_id": parent_id}
    links = conn.execute(_children_sql(view), params).all()
    days = rhythm_days(conn, view, tenant)
    students = []
    for link in links:
        work = recent_work(conn, view, tenant, link.student_id, evidence=True)
        last = work[0].submitted_at if work else None  # newest first
        students.append(
            StudentSummary(
                learner_id=link.student_id,
                name=link.name or "",
                relationship=link.relationship,
                rhythm=rhythm(last, now, days),
                last_submitted_at=last,
                active_quests=active_quests(conn, view, tenant, link.student_id),
                recent_work=work,
                due=due_tasks(conn, view, tenant, link.student_id, now),
            )
        )
    name = name_of(conn, view, tenant, parent_id) or ""
    return ParentView(tenant, parent_id, name, days, tuple(students))


# -- observers ----------------------------------------------------------------------------


def observer_view(engine: Engine, tenant: str, observer_id: str) -> ObserverView | None:
    """What `observer_id` sees: the students who link them now (removed links are gone)."""
    if not in_tenant(tenant, observer_id):
        return None
    return read_view(  # type: ignore[no-any-return]
        engine, lambda conn, view: _observer(conn, view, tenant, observer_id), None
    )


@lru_cache(maxsize=32)
def _observed_sql(view: FamilyView) -> Select[Any]:
    o, p = view.observers.c, view.people.c
    return (
        select(o.student_id, o.relationship, o.can_view_evidence, o.can_comment, p.name)
        .select_from(
            view.observers.outerjoin(
                view.people, and_(p.tenant == o.tenant, p.person_id == o.student_id)
            )
        )
        .where(o.tenant == TENANT, o.observer_id == OBSERVER_ID, o.status == "active")
        .order_by(p.name, o.student_id)
    )


def _observer(conn: Connection, view: FamilyView, tenant: str, observer_id: str) -> ObserverView:
    params = {"tenant": tenant, "observer_id": observer_id}
    links = conn.execute(_observed_sql(view), params).all()
    students = tuple(
        ObservedStudent(
            learner_id=link.student_id,
            name=link.name or "",
            relationship=link.relationship,
            can_view_evidence=bool(link.can_view_evidence),
            can_comment=bool(link.can_comment),
            recent_work=recent_work(
                conn, view, tenant, link.student_id, evidence=bool(link.can_view_evidence)
            ),
        )
        for link in links
    )
    name = name_of(conn, view, tenant, observer_id) or ""
    return ObserverView(tenant, observer_id, name, students)


def observers_of(
    engine: Engine, tenant: str, learner_id: str, *, now: datetime | None = None
) -> Observers:
    """A student's invitations (expired ones marked so against `now`) and active observers."""
    if not in_tenant(tenant, learner_id):
        return Observers((), ())
    empty = Observers((), ())
    return read_view(  # type: ignore[no-any-return]
        engine,
        lambda conn, view: _observers(conn, view, tenant, learner_id, now_or_utc(now)),
        empty,
    )


@lru_cache(maxsize=32)
def _invitations_sql(view: FamilyView) -> Select[Any]:
    i = view.invitations.c
    return (
        select(view.invitations)
        .where(i.tenant == TENANT, i.student_id == STUDENT_ID)
        .order_by(i.sent_at.desc(), i.invitation_id)
    )


@lru_cache(maxsize=32)
def _circle_sql(view: FamilyView) -> Select[Any]:
    o, p = view.observers.c, view.people.c
    return (
        select(view.observers, p.name, p.email)
        .select_from(
            view.observers.outerjoin(
                view.people, and_(p.tenant == o.tenant, p.person_id == o.observer_id)
            )
        )
        .where(o.tenant == TENANT, o.student_id == STUDENT_ID, o.status == "active")
        .order_by(o.linked_at, o.observer_id)
    )


def _observers(
    conn: Connection, view: FamilyView, tenant: str, learner_id: str, now: datetime
) -> Observers:
    params = {"tenant": tenant, "student_id": learner_id}
    invitations = conn.execute(_invitations_sql(view), params).all()
    links = conn.execute(_circle_sql(view), params).all()
    return Observers(
        invitations=tuple(_invitation(row, now) for row in invitations),
        observers=tuple(
            ObserverLine(
                observer_id=row.observer_id,
                name=row.name or "",
                email=row.email or "",
                relationship=row.relationship,
                can_view_evidence=bool(row.can_view_evidence),
                can_comment=bool(row.can_comment),
                linked_at=row.linked_at,
            )
            for row in links
        ),
    )


def _invitation(row: Any, now: datetime) -> InvitationLine:
    expires = instant(row.expires_at)
    expired = row.status == "pending" and expires is not None and expires <= now
    return InvitationLine(
        invitation_id=row.invitation_id,
        email=row.email,
        name=row.name,
        relationship=row.relationship,
        status="expired" if expired else row.status,
        sent_at=row.sent_at,
        expires_at=row.expires_at,
        can_view_evidence=bool(row.can_view_evidence),
        can_comment=bool(row.can_comment),
    )


def comments_on(engine: Engine, tenant: str, learner_id: str) -> tuple[Comment, ...]:
    """Observers' comments on a student's work, newest first."""
    if not in_tenant(tenant, learner_id):
        return ()
    return read_view(  # type: ignore[no-any-return]
        engine, lambda conn, view: _comments(conn, view, tenant, learner_id), ()
    )


def _comments(
    conn: Connection, view: FamilyView, tenant: str, learner_id: str
) -> tuple[Comment, ...]:
    params = {"tenant": tenant, "student_id": learner_id}
    rows = conn.execute(_comments_sql(view), params).all()
    return tuple(
        Comment(
            comment_id=row.comment_id,
            observer_id=row.observer_id,
            observer_name=row.name or "",
            task_id=row.task_id,
            task_title=row.known_title or row.task_title or "",
            text=row.text,
            left_at=row.left_at,
        )
        for row in rows
    )


@lru_cache(maxsize=32)
def _comments_sql(view: FamilyView) -> Select[Any]:
    m, p, t, c = view.comments.c, view.people.c, view.tasks.c, view.completions.c
    return (
        select(view.comments, p.name, t.title.label("known_title"), c.task_title)
        .select_from(
            view.comments.outerjoin(
                view.people, and_(p.tenant == m.tenant, p.person_id == m.observer_id)
            )
            .outerjoin(view.tasks, and_(t.tenant == m.tenant, t.task_id == m.task_id))
            .outerjoin(
                view.completions,
                and_(c.tenant == m.tenant, c.learner_id == m.student_id, c.task_id == m.task_id),
            )
        )
        .where(m.tenant == TENANT, m.student_id == STUDENT_ID)
        .order_by(m.left_at.desc(), m.comment_id)
    )


@lru_cache(maxsize=32)
def _completed_sql(view: FamilyView) -> Select[Any]:
    c = view.completions.c
    return select(c.task_id).where(
        c.tenant == TENANT, c.learner_id == LEARNER, c.task_id == param("task_id")
    )


def completed_task(engine: Engine, tenant: str, learner_id: str, task_id: str) -> bool:
    """Whether `task_id` is among the student's completed work (what comments are left on)."""
    if not in_tenant(tenant, learner_id):
        return False

    def is_completed(conn: Connection, view: FamilyView) -> bool:
        params = {"tenant": tenant, "learner_id": learner_id, "task_id": task_id}
        return conn.execute(_completed_sql(view), params).first() is not None

    return bool(read_view(engine, is_completed, False))


# -- positions and rebuilds ---------------------------------------------------------------


def wait_for(engine: Engine, positions: Mapping[str, int], timeout: float = 5.0) -> None:
    """Return once the family read model has applied each upstream's position (read your
    own writes); `TimeoutError` after `timeout` seconds in all."""
    deadline = monotonic() + timeout
    for upstream, position in positions.items():
        if upstream not in UPSTREAMS:
            msg = f"the family read model does not follow {upstream!r} (it follows {UPSTREAMS})"
            raise ValueError(msg)
        status.wait_for(engine, NAME, position, max(deadline - monotonic(), 0.0), upstream=upstream)


def all_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every live row of every table, in key order, by table: what a rebuild reproduces."""

    def rows_of(conn: Connection, view: FamilyView) -> dict[str, list[tuple[Any, ...]]]:
        found = {}
        for table in view.tables:
            stem = table.name.removeprefix(f"{NAME}_").rsplit("_v", 1)[0]
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            found[stem] = [tuple(row) for row in rows]
        return found

    return read_view(engine, rows_of, {})  # type: ignore[no-any-return]


class FamilyReader:
    """The readers bound to one engine: what the family routes consult (`hub.family.api.
    FamilyReads`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def observer_view(self, tenant: str, observer_id: str) -> ObserverView | None:
        return observer_view(self.engine, tenant, observer_id)

    def parent_view(self, tenant: str, parent_id: str, now: datetime) -> ParentView | None:
        return parent_view(self.engine, tenant, parent_id, now=now)

    def access(self, tenant: str, viewer_id: str, viewer_role: str, learner_id: str) -> Access:
        return access(self.engine, tenant, viewer_id, viewer_role, learner_id)

    def completed_task(self, tenant: str, learner_id: str, task_id: str) -> bool:
        return completed_task(self.engine, tenant, learner_id, task_id)

    def wait_for(self, positions: Mapping[str, int], timeout: float) -> None:
        wait_for(self.engine, positions, timeout)

    def close(self) -> None:
        self.engine.dispose()
