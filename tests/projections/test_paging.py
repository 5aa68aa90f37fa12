"""A page applied at once makes the rows its events make one by one (portfolio, badges, family)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from eventsourcing.persistence import Tracking
from sqlalchemy import Engine

from connectors.domain import Progress, progress_id
from hub.domain.badges import BadgeBook, BadgeRule, LearnerBadge
from hub.domain.learners import Learner
from hub.domain.quests import Quest, Task
from projections import registry
from projections.checksum import version_checksum
from projections.paging import PagedProjection, apply_page
from tests.projections.badge_world import CLUSTER, SCIENCE

Item = tuple[Any, Tracking]


def school_log() -> list[Item]:
    """Events of two tenants in a plausible log order, each with its upstream's position."""
    events: list[tuple[str, Any]] = []
    for tenant in ("alpha", "beta"):
        book = BadgeBook.open(tenant)
        book.define(SCIENCE)
        book.define(CLUSTER)
        events += [("hub", e) for e in book.collect_events()]
        quests, tasks = [], []
        for c in range(4):
            quest = Quest(
                tenant=tenant,
                source="spark",
                external_id=f"c{c}",
                details={"title": f"Course {c}", "assignment_ids": [f"c{c}a0", f"c{c}a1"]},
            )
            quests.append(quest)
            for a in range(2):
                pillar = "stem" if c < 2 else "art"
                tasks.append(
                    Task(
                        tenant=tenant,
                        source="spark",
                        external_id=f"c{c}a{a}",
                        quest_id=quest.id,
                        details={"title": f"Task {a}", "pillar": pillar, "xp": 100 + 50 * a},
                    )
                )
        events += [("hub", e) for agg in quests + tasks for e in agg.collect_events()]
        for n in range(5):
            learner = Learner(
                tenant=tenant,
                source="spark",
                external_id=f"u{n}",
                email=f"U{n}@Example.org",
                given_name=f"L{n}",
                family_name="",
                role="student",
            )
            for quest in quests[: 2 + n % 3]:
                learner.enrol(quest.id, "spark")
            if n % 2:
                learner.drop(quests[0].id, "spark")
                learner.enrol(quests[0].id, "spark")
            if n == 3:
                learner.update_profile(f"new{n}@example.org", "New", "Name", "spark")
            events += [("hub", e) for e in learner.collect_events()]
            progress: Progress | None = None
            for task in tasks[: 2 * (1 + n % 4)]:
                fields = {
                    "learner_id": learner.id,
                    "task_id": task.id,
                    "quest_id": task.quest_id,
                    "task_title": task.title,
                    "evidence": [],
                    "evidence_rejected": [],
                    "text": f"work {n}",
                    "submitted_at": "2025-01-15T10:00:00+00:00",
                    "grade": None,
                    "source": "spark",
                    "submission_id": f"{tenant}.Submission.{n}{task.id[-8:]}",
                }
                progress = Progress.record(
                    progress,
                    progress_id(tenant, learner.id),
                    Progress.TaskCompleted,
                    **fields,
                    quest_title=None,
                    pillar=task.pillar,
                    xp=task.xp,
                )
                if n == 2:
                    progress.resubmit(**{**fields, "text": "again", "submission_id": "s-again"})
            if progress is not None:
                events += [("progress", e) for e in progress.collect_events()]
            if n >= 2:
                earned = LearnerBadge.earn(
                    tenant,
                    learner.id,
                    SCIENCE,
                    quests_done=2,
                    xp_done=500,
                    met_by="x@1",
                    earned_at="2025-01-16T00:00:00+00:00",
                )
                events += [("badges", e) for e in earned.collect_events()]
        quests[1].update({"title": "Course 1, renamed", "assignment_ids": ["c1a0", "c1a1"]})
        tasks[0].update({"title": "Task 0, renamed", "pillar": "stem", "xp": 120})
        looser = BadgeRule(**{**vars(SCIENCE), "min_xp": 100})
        book.update(looser)
        book.retire(CLUSTER.key)
        events += [("hub", e) for agg in (quests[1], tasks[0], book) for e in agg.collect_events()]
    positions: dict[str, int] = {}
    items = []
    for upstream, event in events:
        positions[upstream] = positions.get(upstream, 0) + 1
        items.append((event, Tracking(upstream, positions[upstream])))
    return items


@pytest.mark.parametrize("name", ["portfolio", "badges", "family"])
def test_pages_of_any_size_give_the_rows_of_one_event_at_a_time(engine: Engine, name: str) -> None:
    spec = registry.get(name)
    items = school_log()
    one_by_one = spec.projection_class(spec.view_class(engine, 1))
    assert isinstance(one_by_one, PagedProjection)
    one_by_one.view.create_tables()
    for event, tracking in items:
        one_by_one.process_event(event, tracking)
    expected = version_checksum(engine, name, 1)
    rng = random.Random(7)
    for version, sizes in ((2, [len(items)]), (3, [1, 2, 3]), (4, [5, 17, 40])):
        paged = spec.projection_class(spec.view_class(engine, version))
        paged.view.create_tables()
        start = 0
        while start < len(items):
            size = rng.choice(sizes)
            with paged.view.batch():
                apply_page(paged, items[start : start + size])
            start += size
        assert version_checksum(engine, name, version) == expected, sizes
        assert paged.view.max_tracking_id("hub") == one_by_one.view.max_tracking_id("hub")


def test_a_page_records_the_position_of_what_it_does_not_handle(engine: Engine) -> None:
    spec = registry.get("badges")
    paged = spec.projection_class(spec.view_class(engine, 1))
    paged.view.create_tables()
    with paged.view.batch():
        apply_page(paged, [], through=Tracking("hub", 41))
    assert paged.view.max_tracking_id("hub") == 41
