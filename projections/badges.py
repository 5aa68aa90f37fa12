"""The badge read model: each learner's progress towards each of the tenant's badges.

It follows three logs. From `hub`: the tenants' badge rules (`BadgeBook.BadgeDefined`,
`BadgeUpdated`, `BadgeRetired`) and quests with the tasks they list (`Quest.Synced`,
`Quest.Updated`). From `progress`: `Progress.TaskCompleted` (from every source). From
`badges` (the connector): `LearnerBadge.BadgeEarned`. Each table holds facts of one log,
so the rows do not depend on how the logs interleave, and progress is computed when read
with the rule the connector awards by (`hub.domain.badges.standing`). Events are
recognised by their class's qualified name.

Reader: `badge_progress(engine, tenant, learner_id) -> list[BadgeProgress]`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, select

from hub.domain.badges import BadgeRule, Completion, QuestInfo, quest_task_ids, standing
from hub.domain.base import tenant_of
from projections.badges_view import NAME, BadgesView
from projections.paging import Bulk, PagedProjection
from projections.schema import read_live

__all__ = ["NAME", "UPSTREAMS", "BadgeProgress", "BadgesProjection", "BadgesView", "badge_progress"]
UPSTREAMS = ("hub", "progress", "badges")
EARNED = "nothing: the badge is earned"

Handler = Callable[[BadgesView, Connection, Any], None]


def _badge_defined(view: BadgesView, conn: Connection, event: Any) -> None:
    rule = BadgeRule.from_fields(vars(event))
    values = {**rule.fields(), "badge_id": event.badge_id}
    view.define_rule(conn, tenant_of(event.originator_id), values)


def _badge_retired(view: BadgesView, conn: Connection, event: Any) -> None:
    view.retire_rule(conn, tenant_of(event.originator_id), event.badge_id)


def _quest_named(view: BadgesView, conn: Connection, event: Any) -> None:
    quest = event.originator_id
    source = getattr(event, "source", None)
    if source is None:  # an update: the source is the one it was synced with
        found = conn.execute(
            select(view.quests.c.source).where(
                view.quests.c.tenant == tenant_of(quest), view.quests.c.quest_id == quest
            )
        ).scalar()
        source = found or ""
    values = {
        "source": source,
        "title": str(event.details.get("title", "")),
        "task_ids": sorted(quest_task_ids(quest, source, event.details)),
    }
    view.name_quest(conn, tenant_of(quest), quest, values)


def _done(event: Any) -> dict[str, Any]:
    return {
        "tenant": tenant_of(event.learner_id),
        "learner_id": event.learner_id,
        "task_id": event.task_id,
        "quest_id": str(event.quest_id or ""),
        "pillar": str(event.pillar),
        "xp": int(event.xp),
    }


def _earned(event: Any) -> dict[str, Any]:
    return {
        "tenant": tenant_of(event.originator_id),
        "learner_id": event.learner_id,
        "badge_id": event.badge_id,
        "earned_at": str(event.earned_at),
    }


def _task_completed(view: BadgesView, conn: Connection, event: Any) -> None:
    view.add_done(conn, [_done(event)])


def _badge_earned(view: BadgesView, conn: Connection, event: Any) -> None:
    view.add_earned(conn, [_earned(event)])


HANDLERS: dict[str, Handler] = {
    "BadgeBook.BadgeDefined": _badge_defined,
    "BadgeBook.BadgeUpdated": _badge_defined,
    "BadgeBook.BadgeRetired": _badge_retired,
    "Quest.Synced": _quest_named,
    "Quest.Updated": _quest_named,
    "Progress.TaskCompleted": _task_completed,
    "LearnerBadge.BadgeEarned": _badge_earned,
}
"""Handlers by event class `__qualname__`; every other event only moves the position."""


class _Done(Bulk[BadgesView]):
    kinds = frozenset({"Progress.TaskCompleted"})

    def write(self, conn: Connection, events: Sequence[Any]) -> None:
        self.view.add_done(conn, [_done(e) for e in events])


class _Earned(Bulk[BadgesView]):
    kinds = frozenset({"LearnerBadge.BadgeEarned"})

    def write(self, conn: Connection, events: Sequence[Any]) -> None:
        self.view.add_earned(conn, [_earned(e) for e in events])


class BadgesProjection(PagedProjection[BadgesView]):
    """Every event moves its upstream's position; the events in `HANDLERS` change rows too
    (a page's completions and earned badges together)."""

    name = NAME
    topics = ()
    handlers = HANDLERS
    bulk_classes = (_Done, _Earned)


# Reader -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BadgeProgress:
    """A learner's progress towards one badge: `remaining` in words ("complete 2 more
    Spark courses (…)"), and the numbers; `earned_at` once earned (ISO 8601)."""

    badge_id: str
    key: str
    name: str
    description: str
    pillar: str
    kind: str
    earned_at: str | None
    remaining: str
    quests_done: int
    quests_needed: int
    xp_done: int
    xp_needed: int
    retired: bool


def badge_progress(engine: Engine, tenant: str, learner_id: str) -> list[BadgeProgress]:
    """The learner's progress towards every active badge of `tenant` and every badge they
    earned (retired or not), by name; [] before the projection's first run."""
    return read_live(
        engine, NAME, lambda conn, version: _read(conn, version, tenant, learner_id), missing=[]
    )


@lru_cache(maxsize=32)
def _view(engine: Engine, version: int) -> BadgesView:
    """One view object per version, so SQLAlchemy reuses its compiled statements."""
    return BadgesView(engine, version)


def _read(conn: Connection, version: int, tenant: str, learner_id: str) -> list[BadgeProgress]:
    view = _view(conn.engine, version)
    r, d, e, q = view.rules.c, view.done.c, view.earned.c, view.quests.c
    rules = conn.execute(select(view.rules).where(r.tenant == tenant)).all()
    done = conn.execute(
        select(d.task_id, d.quest_id, d.pillar, d.xp).where(
            d.tenant == tenant, d.learner_id == learner_id
        )
    ).all()
    earned = dict(
        conn.execute(
            select(e.badge_id, e.earned_at).where(e.tenant == tenant, e.learner_id == learner_id)
        ).all()
    )
    completions = [Completion(row.task_id, row.quest_id, row.pillar, row.xp) for row in done]
    badge_rules = [(row, BadgeRule.from_fields(dict(row._mapping))) for row in rules]
    wanted = {c.quest_id for c in completions}
    for _, rule in badge_rules:
        wanted |= {course.quest_id(tenant) for course in rule.required}
    quests = {
        row.quest_id: QuestInfo(row.quest_id, row.source, row.title, frozenset(row.task_ids))
        for row in conn.execute(
            select(view.quests).where(q.tenant == tenant, q.quest_id.in_(sorted(wanted)))
        )
    }
    found = []
    for row, rule in badge_rules:
        earned_at = earned.get(row.badge_id)
        if row.retired and earned_at is None:
            continue
        now = standing(rule, tenant, completions, quests)
        found.append(
            BadgeProgress(
                badge_id=row.badge_id,
                key=rule.key,
                name=rule.name,
                description=rule.description,
                pillar=rule.pillar,
                kind=rule.kind,
                earned_at=earned_at,
                remaining=EARNED if earned_at is not None else now.remaining,
                quests_done=now.quests_done,
                quests_needed=now.quests_needed,
                xp_done=now.xp_done,
                xp_needed=now.xp_needed,
                retired=bool(row.retired),
            )
        )
    return sorted(found, key=lambda b: (b.name, b.key))
