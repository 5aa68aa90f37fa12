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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from time import monotonic
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select

from hub.domain.base import tenant_of
from hub.domain.guardians import DEFAULT_RHYTHM_DAYS
from projections import status
from projections.family_events import UPSTREAMS, FamilyProjection
from projections.family_view import NAME, FamilyView
from projections.schema import read_live

__all__ = [
    "NAME",
    "Access",
    "FamilyProjection",
    "FamilyReader",
    "FamilyView",
    "access",
    "all_rows",
    "comments_on",
    "completed_task",
    "observer_view",
    "observers_of",
    "parent_view",
    "wait_for",
]

RECENT = 5
GREEN, YELLOW = "green", "yellow"
PARENT_ROLES = frozenset({"parent", "guardian"})
OBSERVER_ROLE = "observer"

# Why access was given or refused (`Access.reason`): hub.family.problems maps each refusal
# to its problem type.
SELF, GUARDIAN, OBSERVER = "self", "guardian", "observer"
OTHER_TENANT, NOT_LINKED, LINK_REMOVED = "other_tenant", "not_linked", "link_removed"


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


@lru_cache(maxsize=32)
def _view(engine: Engine, version: int) -> FamilyView:
    """One view object per version, so SQLAlchemy reuses its compiled statements."""
    return FamilyView(engine, version)


def _read(engine: Engine, read: Any, missing: Any) -> Any:
    return read_live(engine, NAME, lambda conn, v: read(conn, _view(conn.engine, v)), missing)


def _in(tenant: str, *ids: str) -> bool:
    return all(tenant_of(found) == tenant for found in ids)


def _instant(text: str) -> datetime | None:
    if not text:
        return None
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


# -- access -------------------------------------------------------------------------------


def access(
    engine: Engine, tenant: str, viewer_id: str, viewer_role: str, learner_id: str
) -> Access:
    """May `viewer_id` (signed in as `viewer_role`) see `learner_id`'s pages, and how much."""
    if not _in(tenant, viewer_id, learner_id):
        return Access.denied(OTHER_TENANT)
    if viewer_id == learner_id:
        return Access(can_view=True, can_view_evidence=True, can_comment=False, reason=SELF)
    if viewer_role in PARENT_ROLES:
        return _read(
            engine, lambda c, v: _guardian_access(c, v, tenant, viewer_id, learner_id), None
        ) or Access.denied(NOT_LINKED)
    if viewer_role == OBSERVER_ROLE:
        return _read(
            engine, lambda c, v: _observer_access(c, v, tenant, viewer_id, learner_id), None
        ) or Access.denied(NOT_LINKED)
    return Access.denied(NOT_LINKED)


def _guardian_access(
    conn: Connection, view: FamilyView, tenant: str, guardian_id: str, student_id: str
) -> Access | None:
    g = view.guardians.c
    found = conn.execute(
        select(g.relationship).where(
            g.tenant == tenant, g.guardian_id == guardian_id, g.student_id == student_id
        )
    ).first()
    if found is None:
        return None
    return Access(can_view=True, can_view_evidence=True, can_comment=False, reason=GUARDIAN)


def _observer_access(
    conn: Connection, view: FamilyView, tenant: str, observer_id: str, student_id: str
) -> Access | None:
    o = view.observers.c
    link = conn.execute(
        select(o.status, o.can_view_evidence, o.can_comment).where(
            o.tenant == tenant, o.observer_id == observer_id, o.student_id == student_id
        )
    ).first()
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


# -- students' work -----------------------------------------------------------------------


def _name_of(conn: Connection, view: FamilyView, tenant: str, person_id: str) -> str | None:
    p = view.people.c
    found = conn.execute(
        select(p.name).where(p.tenant == tenant, p.person_id == person_id)
    ).scalar()
    return None if found is None else str(found)


def _recent_work(
    conn: Connection,
    view: FamilyView,
    tenant: str,
    learner_id: str,
    *,
    evidence: bool,
    limit: int = RECENT,
) -> tuple[RecentWork, ...]:
    c, t, q = view.completions.c, view.tasks.c, view.quests.c
    rows = conn.execute(
        select(view.completions, t.title.label("known_title"), q.title.label("quest_title"))
        .select_from(
            view.completions.outerjoin(
                view.tasks, and_(t.tenant == c.tenant, t.task_id == c.task_id)
            ).outerjoin(view.quests, and_(q.tenant == c.tenant, q.quest_id == c.quest_id))
        )
        .where(c.tenant == tenant, c.learner_id == learner_id)
        .order_by(c.submitted_at.desc(), c.task_id)
        .limit(limit)
    ).all()
    return tuple(
        RecentWork(
            task_id=row.task_id,
            title=row.known_title or row.task_title,
            quest_id=row.quest_id,
            quest_title=row.quest_title or "",
            submitted_at=row.submitted_at,
            source=row.source,
            evidence=tuple(row.evidence) if evidence else (),
            text=row.text if evidence else "",
        )
        for row in rows
    )


def _active_quests(
    conn: Connection, view: FamilyView, tenant: str, learner_id: str
) -> tuple[ActiveQuest, ...]:
    e, q, t, c = view.enrolments.c, view.quests.c, view.tasks.c, view.completions.c
    total = (
        select(func.count()).where(t.tenant == e.tenant, t.quest_id == e.quest_id).scalar_subquery()
    )
    done = (
        select(func.count())
        .where(c.tenant == e.tenant, c.learner_id == e.learner_id, c.quest_id == e.quest_id)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(e.quest_id, q.title, done.label("done"), total.label("total"))
        .select_from(
            view.enrolments.outerjoin(
                view.quests, and_(q.tenant == e.tenant, q.quest_id == e.quest_id)
            )
        )
        .where(e.tenant == tenant, e.learner_id == learner_id)
        .order_by(q.title, e.quest_id)
    ).all()
    return tuple(
        ActiveQuest(row.quest_id, row.title or "", int(row.done), int(row.total)) for row in rows
    )


def _due(
    conn: Connection, view: FamilyView, tenant: str, learner_id: str, now: datetime
) -> tuple[DueTask, ...]:
    """Tasks of the student's quests with a due date, not completed yet, soonest first."""
    e, q, t, c = view.enrolments.c, view.quests.c, view.tasks.c, view.completions.c
    completed = select(c.task_id).where(c.tenant == tenant, c.learner_id == learner_id)
    rows = conn.execute(
        select(t.task_id, t.title, t.quest_id, t.due_at, q.title.label("quest_title"))
        .select_from(
            view.tasks.join(
                view.enrolments, and_(e.tenant == t.tenant, e.quest_id == t.quest_id)
            ).outerjoin(view.quests, and_(q.tenant == t.tenant, q.quest_id == t.quest_id))
        )
        .where(
            t.tenant == tenant,
            e.learner_id == learner_id,
            t.due_at != "",
            t.task_id.not_in(completed),
        )
        .order_by(t.due_at, t.task_id)
    ).all()
    due = []
    for row in rows:
        when = _instant(row.due_at)
        overdue = when is not None and when < now
        due.append(
            DueTask(
                row.task_id, row.title, row.quest_id, row.quest_title or "", row.due_at, overdue
            )
        )
    return tuple(due)


def _last_submitted(conn: Connection, view: FamilyView, tenant: str, learner_id: str) -> str | None:
    c = view.completions.c
    found = conn.execute(
        select(func.max(c.submitted_at)).where(c.tenant == tenant, c.learner_id == learner_id)
    ).scalar()
    return None if found is None else str(found)


def _rhythm_days(conn: Connection, view: FamilyView, tenant: str) -> int:
    s = view.settings.c
    found = conn.execute(select(s.rhythm_days).where(s.tenant == tenant)).scalar()
    return DEFAULT_RHYTHM_DAYS if found is None else int(found)


def rhythm(last_submitted_at: str | None, now: datetime, days: int) -> str:
    """GREEN when the last submission is within `days` of `now`, else YELLOW."""
    last = _instant(last_submitted_at or "")
    return GREEN if last is not None and last >= now - timedelta(days=days) else YELLOW


# -- parents ------------------------------------------------------------------------------


def parent_view(
    engine: Engine, tenant: str, parent_id: str, *, now: datetime | None = None
) -> ParentView | None:
    """What `parent_id` sees: each linked student of `tenant`; None for another tenant's id."""
    if not _in(tenant, parent_id):
        return None
    return _read(  # type: ignore[no-any-return]
        engine, lambda conn, view: _parent(conn, view, tenant, parent_id, _now(now)), None
    )


def _parent(
    conn: Connection, view: FamilyView, tenant: str, parent_id: str, now: datetime
) -> ParentView:
    g, p = view.guardians.c, view.people.c
    links = conn.execute(
        select(g.student_id, g.relationship, p.name)
        .select_from(
            view.guardians.outerjoin(
                view.people, and_(p.tenant == g.tenant, p.person_id == g.student_id)
            )
        )
        .where(g.tenant == tenant, g.guardian_id == parent_id)
        .order_by(p.name, g.student_id)
    ).all()
    days = _rhythm_days(conn, view, tenant)
    students = []
    for link in links:
        last = _last_submitted(conn, view, tenant, link.student_id)
        students.append(
            StudentSummary(
                learner_id=link.student_id,
                name=link.name or "",
                relationship=link.relationship,
                rhythm=rhythm(last, now, days),
                last_submitted_at=last,
                active_quests=_active_quests(conn, view, tenant, link.student_id),
                recent_work=_recent_work(conn, view, tenant, link.student_id, evidence=True),
                due=_due(conn, view, tenant, link.student_id, now),
            )
        )
    name = _name_of(conn, view, tenant, parent_id) or ""
    return ParentView(tenant, parent_id, name, days, tuple(students))


# -- observers ----------------------------------------------------------------------------


def observer_view(engine: Engine, tenant: str, observer_id: str) -> ObserverView | None:
    """What `observer_id` sees: the students who link them now (removed links are gone)."""
    if not _in(tenant, observer_id):
        return None
    return _read(  # type: ignore[no-any-return]
        engine, lambda conn, view: _observer(conn, view, tenant, observer_id), None
    )


def _observer(conn: Connection, view: FamilyView, tenant: str, observer_id: str) -> ObserverView:
    o, p = view.observers.c, view.people.c
    links = conn.execute(
        select(o.student_id, o.relationship, o.can_view_evidence, o.can_comment, p.name)
        .select_from(
            view.observers.outerjoin(
                view.people, and_(p.tenant == o.tenant, p.person_id == o.student_id)
            )
        )
        .where(o.tenant == tenant, o.observer_id == observer_id, o.status == "active")
        .order_by(p.name, o.student_id)
    ).all()
    students = tuple(
        ObservedStudent(
            learner_id=link.student_id,
            name=link.name or "",
            relationship=link.relationship,
            can_view_evidence=bool(link.can_view_evidence),
            can_comment=bool(link.can_comment),
            recent_work=_recent_work(
                conn, view, tenant, link.student_id, evidence=bool(link.can_view_evidence)
            ),
        )
        for link in links
    )
    name = _name_of(conn, view, tenant, observer_id) or ""
    return ObserverView(tenant, observer_id, name, students)


def observers_of(
    engine: Engine, tenant: str, learner_id: str, *, now: datetime | None = None
) -> Observers:
    """A student's invitations (expired ones marked so against `now`) and active observers."""
    if not _in(tenant, learner_id):
        return Observers((), ())
    empty = Observers((), ())
    return _read(  # type: ignore[no-any-return]
        engine, lambda conn, view: _observers(conn, view, tenant, learner_id, _now(now)), empty
    )


def _observers(
    conn: Connection, view: FamilyView, tenant: str, learner_id: str, now: datetime
) -> Observers:
    i = view.invitations.c
    invitations = conn.execute(
        select(view.invitations)
        .where(i.tenant == tenant, i.student_id == learner_id)
        .order_by(i.sent_at.desc(), i.invitation_id)
    ).all()
    o, p = view.observers.c, view.people.c
    links = conn.execute(
        select(view.observers, p.name, p.email)
        .select_from(
            view.observers.outerjoin(
                view.people, and_(p.tenant == o.tenant, p.person_id == o.observer_id)
            )
        )
        .where(o.tenant == tenant, o.student_id == learner_id, o.status == "active")
        .order_by(o.linked_at, o.observer_id)
    ).all()
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
    expires = _instant(row.expires_at)
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
    if not _in(tenant, learner_id):
        return ()
    return _read(  # type: ignore[no-any-return]
        engine, lambda conn, view: _comments(conn, view, tenant, learner_id), ()
    )


def _comments(
    conn: Connection, view: FamilyView, tenant: str, learner_id: str
) -> tuple[Comment, ...]:
    m, p, t, c = view.comments.c, view.people.c, view.tasks.c, view.completions.c
    rows = conn.execute(
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
        .where(m.tenant == tenant, m.student_id == learner_id)
        .order_by(m.left_at.desc(), m.comment_id)
    ).all()
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


def completed_task(engine: Engine, tenant: str, learner_id: str, task_id: str) -> bool:
    """Whether `task_id` is among the student's completed work (what comments are left on)."""
    if not _in(tenant, learner_id):
        return False

    def read(conn: Connection, view: FamilyView) -> bool:
        c = view.completions.c
        found = conn.execute(
            select(c.task_id).where(
                c.tenant == tenant, c.learner_id == learner_id, c.task_id == task_id
            )
        ).first()
        return found is not None

    return bool(_read(engine, read, False))


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

    def read(conn: Connection, view: FamilyView) -> dict[str, list[tuple[Any, ...]]]:
        found = {}
        for table in view.tables:
            stem = table.name.removeprefix(f"{NAME}_").rsplit("_v", 1)[0]
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            found[stem] = [tuple(row) for row in rows]
        return found

    return _read(engine, read, {})  # type: ignore[no-any-return]


class FamilyReader:
    """The readers bound to one engine: what the family routes consult (`hub.family.api.
    FamilyReads`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def observer_view(self, tenant: str, observer_id: str) -> ObserverView | None:
        return observer_view(self.engine, tenant, observer_id)

    def completed_task(self, tenant: str, learner_id: str, task_id: str) -> bool:
        return completed_task(self.engine, tenant, learner_id, task_id)

    def wait_for(self, positions: Mapping[str, int], timeout: float) -> None:
        wait_for(self.engine, positions, timeout)

    def close(self) -> None:
        self.engine.dispose()
