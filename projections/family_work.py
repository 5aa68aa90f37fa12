"""The family read model's shared queries: a student's work, quests, due dates and rhythm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Engine,
    Select,
    String,
    and_,
    bindparam,
    func,
    select,
)

from hub.domain.base import tenant_of
from hub.domain.guardians import DEFAULT_RHYTHM_DAYS
from projections.family_models import GREEN, YELLOW, ActiveQuest, DueTask, RecentWork
from projections.family_view import NAME, FamilyView
from projections.schema import read_live

RECENT = 5


@lru_cache(maxsize=32)
def view_of(engine: Engine, version: int) -> FamilyView:
    """One view object per version, so SQLAlchemy reuses its compiled statements."""
    return FamilyView(engine, version)


def read_view(engine: Engine, read: Any, missing: Any) -> Any:
    return read_live(engine, NAME, lambda conn, v: read(conn, view_of(conn.engine, v)), missing)


def in_tenant(tenant: str, *ids: str) -> bool:
    return all(tenant_of(found) == tenant for found in ids)


def instant(text: str) -> datetime | None:
    if not text:
        return None
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def now_or_utc(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


# -- students' work -----------------------------------------------------------------------


# Each query is built once per view (`lru_cache` on the view object) with bound parameters:
# building a statement costs more than running it on an indexed table.


def param(name: str) -> BindParameter[str]:
    """A bound string parameter of a prepared query."""
    return bindparam(name, type_=String)


TENANT, LEARNER = param("tenant"), param("learner_id")


@lru_cache(maxsize=32)
def _name_sql(view: FamilyView) -> Select[Any]:
    p = view.people.c
    return select(p.name).where(p.tenant == TENANT, p.person_id == param("person_id"))


def name_of(conn: Connection, view: FamilyView, tenant: str, person_id: str) -> str | None:
    found = conn.execute(_name_sql(view), {"tenant": tenant, "person_id": person_id}).scalar()
    return None if found is None else str(found)


@lru_cache(maxsize=32)
def _recent_sql(view: FamilyView) -> Select[Any]:
    c, t, q = view.completions.c, view.tasks.c, view.quests.c
    return (
        select(view.completions, t.title.label("known_title"), q.title.label("quest_title"))
        .select_from(
            view.completions.outerjoin(
                view.tasks, and_(t.tenant == c.tenant, t.task_id == c.task_id)
            ).outerjoin(view.quests, and_(q.tenant == c.tenant, q.quest_id == c.quest_id))
        )
        .where(c.tenant == TENANT, c.learner_id == LEARNER)
        .order_by(c.submitted_at.desc(), c.task_id)
        .limit(RECENT)
    )


def recent_work(
    conn: Connection,
    view: FamilyView,
    tenant: str,
    learner_id: str,
    *,
    evidence: bool,
) -> tuple[RecentWork, ...]:
    """The student's `RECENT` latest completions, newest first."""
    rows = conn.execute(_recent_sql(view), {"tenant": tenant, "learner_id": learner_id}).all()
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


@lru_cache(maxsize=32)
def _active_sql(view: FamilyView) -> Select[Any]:
    e, q, t, c = view.enrolments.c, view.quests.c, view.tasks.c, view.completions.c
    total = (
        select(func.count()).where(t.tenant == e.tenant, t.quest_id == e.quest_id).scalar_subquery()
    )
    done = (
        select(func.count())
        .where(c.tenant == e.tenant, c.learner_id == e.learner_id, c.quest_id == e.quest_id)
        .scalar_subquery()
    )
    return (
        select(e.quest_id, q.title, done.label("done"), total.label("total"))
        .select_from(
            view.enrolments.outerjoin(
                view.quests, and_(q.tenant == e.tenant, q.quest_id == e.quest_id)
            )
        )
        .where(e.tenant == TENANT, e.learner_id == LEARNER)
        .order_by(q.title, e.quest_id)
    )


def active_quests(
    conn: Connection, view: FamilyView, tenant: str, learner_id: str
) -> tuple[ActiveQuest, ...]:
    rows = conn.execute(_active_sql(view), {"tenant": tenant, "learner_id": learner_id}).all()
    return tuple(
        ActiveQuest(row.quest_id, row.title or "", int(row.done), int(row.total)) for row in rows
    )


@lru_cache(maxsize=32)
def _due_sql(view: FamilyView) -> Select[Any]:
    e, q, t, c = view.enrolments.c, view.quests.c, view.tasks.c, view.completions.c
    completed = select(c.task_id).where(c.tenant == TENANT, c.learner_id == LEARNER)
    return (
        select(t.task_id, t.title, t.quest_id, t.due_at, q.title.label("quest_title"))
        .select_from(
            view.tasks.join(
                view.enrolments, and_(e.tenant == t.tenant, e.quest_id == t.quest_id)
            ).outerjoin(view.quests, and_(q.tenant == t.tenant, q.quest_id == t.quest_id))
        )
        .where(
            t.tenant == TENANT,
            e.learner_id == LEARNER,
            t.due_at != "",
            t.task_id.not_in(completed),
        )
        .order_by(t.due_at, t.task_id)
    )


def due_tasks(
    conn: Connection, view: FamilyView, tenant: str, learner_id: str, now: datetime
) -> tuple[DueTask, ...]:
    """Tasks of the student's quests with a due date, not completed yet, soonest first."""
    rows = conn.execute(_due_sql(view), {"tenant": tenant, "learner_id": learner_id}).all()
    due = []
    for row in rows:
        when = instant(row.due_at)
        overdue = when is not None and when < now
        due.append(
            DueTask(
                row.task_id, row.title, row.quest_id, row.quest_title or "", row.due_at, overdue
            )
        )
    return tuple(due)


@lru_cache(maxsize=32)
def _rhythm_sql(view: FamilyView) -> Select[Any]:
    return select(view.settings.c.rhythm_days).where(view.settings.c.tenant == TENANT)


def rhythm_days(conn: Connection, view: FamilyView, tenant: str) -> int:
    found = conn.execute(_rhythm_sql(view), {"tenant": tenant}).scalar()
    return DEFAULT_RHYTHM_DAYS if found is None else int(found)


def rhythm(last_submitted_at: str | None, now: datetime, days: int) -> str:
    """GREEN when the last submission is within `days` of `now`, else YELLOW."""
    last = instant(last_submitted_at or "")
    return GREEN if last is not None and last >= now - timedelta(days=days) else YELLOW
