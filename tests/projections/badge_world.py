"""What the badge tests record: courses whose quests list their tasks, badges, completions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from hub.badges import define_badge
from hub.domain.badges import BadgeRule, RequiredCourse
from hub.domain.quests import Quest
from hub.domain.tenants import Tenant
from tests.projections.portfolio_world import World, task_of

Assignment = tuple[str, str, float]
"""(Spark assignment id, title (its pillar comes from it), estimated hours)."""


@dataclass(frozen=True)
class Course:
    quest_id: str
    tasks: tuple[dict[str, Any], ...]


def sync_course(
    world: World, tenant: str, course: str, title: str, assignments: Sequence[Assignment]
) -> Course:
    """A Spark course as course sync records it: the quest lists its assignments."""
    details = {"title": title, "assignment_ids": [a for a, _, _ in assignments]}
    try:
        quest: Quest = world.hub.repository.get(Quest.create_id(tenant, "spark", course))
    except AggregateNotFoundError:
        quest = Quest(tenant=tenant, source="spark", external_id=course, details=details)
    else:
        quest.update(details)
    world.positions.saw(world.hub, world.hub.save(quest))
    ids = [world.task(tenant, quest.id, a, t, hours) for a, t, hours in assignments]
    return Course(str(quest.id), tuple(task_of(world, task) for task in ids))


def finish(
    world: World, tenant: str, learner: str, course: Course, upto: int | None = None
) -> None:
    """The learner completes the course's tasks (the first `upto` of them)."""
    for task in course.tasks[:upto]:
        world.complete(tenant, learner, task, [])


def define(world: World, tenant: str, rule: BadgeRule) -> None:
    """Define a badge in `tenant` (registered first if it is not)."""
    if world.hub.tenant(tenant) is None:
        world.hub.save(Tenant(tenant, tenant.title(), "unused-api-key-hash", "unused-secret"))
    recorded = define_badge(world.hub, tenant, rule)
    assert recorded.position is not None
    world.positions.last["hub"] = max(world.positions.last.get("hub", 0), recorded.position)


SCIENCE = BadgeRule(
    "science-scholar", "Science Scholar", "", "stem", "pillar", min_quests=2, min_xp=500
)
CLUSTER = BadgeRule(
    "art-cluster",
    "Art Cluster",
    "",
    "art",
    "courses",
    min_quests=0,
    min_xp=200,
    required=(
        RequiredCourse("spark", "course_design", "Graphic Design"),
        RequiredCourse("spark", "course_draw", "Illustration"),
    ),
)


def science_courses(world: World, tenant: str) -> list[Course]:
    """Two STEM courses of two tasks each, 300 XP a course."""
    physics = sync_course(
        world,
        tenant,
        "course_physics",
        "Physics",
        [("phys-1", "Physics lab: motion", 3), ("phys-2", "Physics problems", 3)],
    )
    chemistry = sync_course(
        world,
        tenant,
        "course_chem",
        "Chemistry",
        [("chem-1", "Chemistry lab: salts", 2), ("chem-2", "Chemistry quiz", 4)],
    )
    return [physics, chemistry]


def art_courses(world: World, tenant: str) -> list[Course]:
    design = sync_course(
        world, tenant, "course_design", "Graphic Design", [("design-1", "Design a logo", 2)]
    )
    draw = sync_course(
        world, tenant, "course_draw", "Illustration", [("draw-1", "Draw a portrait", 2)]
    )
    return [design, draw]
