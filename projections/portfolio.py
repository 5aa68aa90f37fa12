"""The portfolio read model: learners, their completed tasks with evidence, XP per pillar.

It follows two logs. From `hub`: learners (`Learner.Registered`, `ProfileUpdated`,
`Enrolled`, `Dropped`), quests and tasks (`Quest.Synced/Updated`, `Task.Synced/Updated`).
From `progress`:
`Progress.TaskCompleted` and `Progress.TaskResubmitted`, each standing alone (title,
pillar, XP, evidence). Events are recognised by their class's qualified name, so this
module imports neither the connectors nor their domain.

The two logs arrive in any interleaving (live, each as it is recorded; in a rebuild,
one after the other), and the rows must not depend on it: a completed task takes its
quest's title and its task's title from the hub's rows when they are known, and a
later quest or task event brings its title to the completions already there. XP per
pillar is recomputed from the completions, never incremented.

Readers: `portfolio(engine, tenant, learner_id)` and `wait_for(engine, positions)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from time import monotonic
from typing import Any

from sqlalchemy import BindParameter, Connection, Engine, Select, String, bindparam, select

from hub.domain.base import tenant_of
from hub.domain.learners import normalise_email
from projections import status
from projections.paging import Bulk, PagedProjection
from projections.portfolio_view import NAME, PortfolioView
from projections.schema import read_live

UPSTREAMS = ("hub", "progress")


Handler = Callable[[PortfolioView, Connection, Any], None]


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else str(value)


def _registration(event: Any) -> dict[str, str]:
    email = normalise_email(event.email)  # as the aggregate keeps it
    name = f"{event.given_name} {event.family_name}".strip() or email
    return {"name": name, "email": email, "role": event.role}


def _learner_registered(view: PortfolioView, conn: Connection, event: Any) -> None:
    values = _registration(event)
    view.register_learner(conn, tenant_of(event.originator_id), event.originator_id, values)


def _learner_profile_updated(view: PortfolioView, conn: Connection, event: Any) -> None:
    email = normalise_email(event.email)
    name = f"{event.given_name} {event.family_name}".strip() or email
    values = {"name": name, "email": email}
    view.update_learner(conn, tenant_of(event.originator_id), event.originator_id, values)


def _learner_role_changed(view: PortfolioView, conn: Connection, event: Any) -> None:
    values = {"role": event.role}
    view.update_learner(conn, tenant_of(event.originator_id), event.originator_id, values)


def _learner_enrolled(view: PortfolioView, conn: Connection, event: Any) -> None:
    view.enrol(conn, tenant_of(event.originator_id), event.originator_id, event.quest_id)


def _learner_dropped(view: PortfolioView, conn: Connection, event: Any) -> None:
    view.drop(conn, tenant_of(event.originator_id), event.originator_id, event.quest_id)


def _quest_named(view: PortfolioView, conn: Connection, event: Any) -> None:
    title = str(event.details.get("title") or getattr(event, "external_id", ""))
    view.name_quest(conn, tenant_of(event.originator_id), event.originator_id, title)


def _task_details(details: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": str(details.get("title", "")),
        "pillar": str(details.get("pillar", "")),
        "xp": int(details.get("xp", 0)),
    }


def _task_synced(view: PortfolioView, conn: Connection, event: Any) -> None:
    values = {"quest_id": event.quest_id, **_task_details(event.details)}
    view.sync_task(conn, tenant_of(event.originator_id), event.originator_id, values)


def _task_updated(view: PortfolioView, conn: Connection, event: Any) -> None:
    view.update_task(
        conn, tenant_of(event.originator_id), event.originator_id, _task_details(event.details)
    )


def _work(event: Any) -> dict[str, Any]:
    """What a completion or a resubmission shows: its latest work."""
    return {
        "submitted_at": _text(getattr(event, "submitted_at", "")),
        "source": _text(getattr(event, "source", "")),
        "evidence": list(getattr(event, "evidence", None) or []),
        "text": _text(getattr(event, "text", "")),
        "submission_id": _text(getattr(event, "submission_id", "")),
    }


def _task_completed(view: PortfolioView, conn: Connection, event: Any) -> None:
    view.complete(conn, *_completion(event))


def _completion(event: Any) -> tuple[str, dict[str, Any], str]:
    """(tenant, row, quest title from the event) of a `TaskCompleted`."""
    # The learner id is a hub Learner id, `<tenant>.Learner.<hex>`: its tenant is the row's.
    row = {
        "learner_id": event.learner_id,
        "task_id": event.task_id,
        "quest_id": _text(getattr(event, "quest_id", "")),
        "task_title": _text(getattr(event, "task_title", None) or getattr(event, "title", "")),
        "pillar": _text(event.pillar),
        "xp": int(event.xp),
        **_work(event),
    }
    return tenant_of(event.learner_id), row, _text(getattr(event, "quest_title", ""))


def _task_resubmitted(view: PortfolioView, conn: Connection, event: Any) -> None:
    view.resubmit(conn, tenant_of(event.learner_id), event.learner_id, event.task_id, _work(event))


HANDLERS: dict[str, Handler] = {
    "Learner.Registered": _learner_registered,
    "Learner.ProfileUpdated": _learner_profile_updated,
    "Learner.RoleChanged": _learner_role_changed,
    "Learner.RoleAdded": _learner_role_changed,  # `role`: the main role after, as here
    "Learner.Enrolled": _learner_enrolled,
    "Learner.Dropped": _learner_dropped,
    "Quest.Synced": _quest_named,
    "Quest.Updated": _quest_named,
    "Task.Synced": _task_synced,
    "Task.Updated": _task_updated,
    "Progress.TaskCompleted": _task_completed,
    "Progress.TaskResubmitted": _task_resubmitted,
}
"""Handlers by event class `__qualname__`; every other event only moves the position."""


class _Registrations(Bulk[PortfolioView]):
    kinds = frozenset({"Learner.Registered"})

    def write(self, conn: Connection, events: Sequence[Any]) -> None:
        rows = [
            {
                "tenant": tenant_of(e.originator_id),
                "learner_id": e.originator_id,
                **_registration(e),
            }
            for e in events
        ]
        self.view.register_learners(conn, rows)


class _Enrolments(Bulk[PortfolioView]):
    kinds = frozenset({"Learner.Enrolled"})

    def write(self, conn: Connection, events: Sequence[Any]) -> None:
        rows = [
            {
                "tenant": tenant_of(e.originator_id),
                "learner_id": e.originator_id,
                "quest_id": e.quest_id,
            }
            for e in events
        ]
        self.view.enrol_many(conn, rows)


class _Completions(Bulk[PortfolioView]):
    kinds = frozenset({"Progress.TaskCompleted"})

    def write(self, conn: Connection, events: Sequence[Any]) -> None:
        self.view.complete_many(conn, [_completion(e) for e in events])


class PortfolioProjection(PagedProjection[PortfolioView]):
    """Every event moves its upstream's position (so `wait_for` works for any position);
    the events in `HANDLERS` change rows too. A page's registrations, enrolments and
    completions are written together (`projections.paging`)."""

    name = NAME
    topics = ()
    handlers = HANDLERS
    bulk_classes = (_Registrations, _Enrolments, _Completions)


# Readers: every query takes the tenant.


@dataclass(frozen=True)
class LearnerProfile:
    learner_id: str
    name: str
    email: str
    role: str


@dataclass(frozen=True)
class CompletedTask:
    """A task a learner completed, with the work of their latest submission of it."""

    task_id: str
    title: str
    pillar: str
    xp: int
    submitted_at: str
    source: str
    evidence: tuple[dict[str, Any], ...]
    text: str
    submission_id: str
    resubmissions: int


@dataclass(frozen=True)
class QuestProgress:
    """A quest the learner is enrolled in or completed tasks of ("" title: not synced yet)."""

    quest_id: str
    title: str
    enrolled: bool
    tasks: tuple[CompletedTask, ...]

    @property
    def xp(self) -> int:
        return sum(task.xp for task in self.tasks)


@dataclass(frozen=True)
class Portfolio:
    """What a learner's portfolio shows; `learner` is None until the hub's log says who."""

    tenant: str
    learner_id: str
    learner: LearnerProfile | None
    quests: tuple[QuestProgress, ...]
    xp_by_pillar: dict[str, int] = field(default_factory=dict)

    @property
    def total_xp(self) -> int:
        return sum(self.xp_by_pillar.values())


def portfolio(engine: Engine, tenant: str, learner_id: str) -> Portfolio | None:
    """The portfolio of `learner_id` in `tenant`, from the live version; None if unknown."""
    return read_live(
        engine, NAME, lambda conn, version: _read(conn, version, tenant, learner_id), missing=None
    )


def learners_page(
    engine: Engine, tenant: str, after: str | None, limit: int
) -> list[LearnerProfile]:
    """The tenant's learners by id, from the one after `after`, at most `limit`."""

    def read(conn: Connection, version: int) -> list[LearnerProfile]:
        learners = _view(conn.engine, version).learners
        c = learners.c
        query = select(c.learner_id, c.name, c.email, c.role).where(c.tenant == tenant)
        if after is not None:
            query = query.where(c.learner_id > after)
        rows = conn.execute(query.order_by(c.learner_id).limit(limit)).all()
        return [LearnerProfile(*row) for row in rows]

    return read_live(engine, NAME, read, missing=[])


@lru_cache(maxsize=32)
def _view(engine: Engine, version: int) -> PortfolioView:
    """One view object per version: the same tables each time let SQLAlchemy reuse its
    compiled statements (a read costs a tenth of what it does with new tables)."""
    return PortfolioView(engine, version)


def _read(conn: Connection, version: int, tenant: str, learner_id: str) -> Portfolio | None:
    view = _view(conn.engine, version)
    return read_portfolio(conn, view, tenant, learner_id, _cached_reads(view))


@dataclass(frozen=True)
class PortfolioReads:
    """The four queries of a portfolio, built once per view (`:tenant`, `:learner_id`):
    building SQLAlchemy statements costs more than running them on a small read."""

    learner: Select[Any]
    done: Select[Any]
    enrolled: Select[Any]
    xp: Select[Any]


def portfolio_reads(view: PortfolioView) -> PortfolioReads:
    tenant: BindParameter[str] = bindparam("tenant", type_=String)
    learner_id: BindParameter[str] = bindparam("learner_id", type_=String)
    learners, c = view.learners.c, view.completed.c
    e, q, x = view.enrolments.c, view.quests.c, view.xp.c
    return PortfolioReads(
        learner=select(learners.name, learners.email, learners.role).where(
            learners.tenant == tenant, learners.learner_id == learner_id
        ),
        done=select(view.completed)
        .where(c.tenant == tenant, c.learner_id == learner_id)
        .order_by(c.submitted_at, c.task_id),
        enrolled=select(e.quest_id, q.title)
        .select_from(
            view.enrolments.outerjoin(
                view.quests, (q.tenant == e.tenant) & (q.quest_id == e.quest_id)
            )
        )
        .where(e.tenant == tenant, e.learner_id == learner_id),
        xp=select(x.pillar, x.xp)
        .where(x.tenant == tenant, x.learner_id == learner_id)
        .order_by(x.pillar),
    )


@lru_cache(maxsize=32)
def _cached_reads(view: PortfolioView) -> PortfolioReads:
    return portfolio_reads(view)


def read_portfolio(
    conn: Connection,
    view: PortfolioView,
    tenant: str,
    learner_id: str,
    reads: PortfolioReads | None = None,
) -> Portfolio | None:
    """The portfolio of `learner_id` in `view`'s tables (the live ones, or a replay's)."""
    reads = reads or portfolio_reads(view)
    key = {"tenant": tenant, "learner_id": learner_id}
    learner = conn.execute(reads.learner, key).first()
    done = conn.execute(reads.done, key).all()
    enrolled = conn.execute(reads.enrolled, key).all()
    xp = conn.execute(reads.xp, key).all()
    if learner is None and not done and not enrolled:
        return None
    titles = {row.quest_id: row.title or "" for row in enrolled}
    enrolled_in = set(titles)
    tasks: dict[str, list[CompletedTask]] = {quest_id: [] for quest_id in titles}
    for row in done:
        titles.setdefault(row.quest_id, row.quest_title)
        tasks.setdefault(row.quest_id, []).append(_completed(row))
    quests = tuple(
        QuestProgress(
            quest_id,
            titles[quest_id],
            quest_id in enrolled_in,
            tuple(tasks[quest_id]),
        )
        for quest_id in sorted(tasks, key=lambda quest_id: (titles[quest_id], quest_id))
    )
    profile = None if learner is None else LearnerProfile(learner_id, *learner)
    return Portfolio(tenant, learner_id, profile, quests, {row.pillar: int(row.xp) for row in xp})


def _completed(row: Any) -> CompletedTask:
    return CompletedTask(
        task_id=row.task_id,
        title=row.task_title,
        pillar=row.pillar,
        xp=row.xp,
        submitted_at=row.submitted_at,
        source=row.source,
        evidence=tuple(row.evidence),
        text=row.text,
        submission_id=row.submission_id,
        resubmissions=row.resubmissions,
    )


def wait_for(engine: Engine, positions: Mapping[str, int], timeout: float = 5.0) -> None:
    """Return once the portfolio has applied each upstream's position (`{"hub": 42}`): read
    your own writes; raises `TimeoutError` after `timeout` seconds in all."""
    deadline = monotonic() + timeout
    for upstream, position in positions.items():
        if upstream not in UPSTREAMS:
            msg = f"the portfolio does not follow {upstream!r} (it follows {UPSTREAMS})"
            raise ValueError(msg)
        status.wait_for(engine, NAME, position, max(deadline - monotonic(), 0.0), upstream=upstream)


def all_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every live row of every table, in key order, by table (without its version suffix):
    what a rebuild must reproduce."""

    def read(conn: Connection, version: int) -> dict[str, list[tuple[Any, ...]]]:
        view = _view(conn.engine, version)
        found = {}
        for table in view.tables:
            stem = table.name.removeprefix(f"{NAME}_").rsplit("_v", 1)[0]
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            found[stem] = [tuple(row) for row in rows]
        return found

    return read_live(engine, NAME, read, missing={})
