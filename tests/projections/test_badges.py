"""Badges end to end on real parts: progress per learner and badge, `BadgeEarned` once (across
replays and restarts), tenants kept apart, and XP per pillar with totals."""

from __future__ import annotations

from contextlib import closing

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import Tracking
from sqlalchemy import Engine

from connectors.badges import SPEC as AWARDER
from connectors.badges import BadgeAwarder
from connectors.runner import UpstreamLog
from hub.badges import retire_badge
from hub.domain.badges import badge_id, learner_badge_id
from projections import registry
from projections.badges import EARNED, BadgeProgress, badge_progress
from projections.status import wait_for
from projections.upstreams import head, open_reader
from projections.xp import PILLARS, LearnerXp, learner_xp
from tests.connectors.world import Logs, running
from tests.connectors.world import wait_for as eventually
from tests.projections.badge_world import (
    CLUSTER,
    SCIENCE,
    art_courses,
    define,
    finish,
    science_courses,
    sync_course,
)
from tests.projections.helpers import running as projecting
from tests.projections.portfolio_world import World

TTL = 1.5


def earned_events(logs: Logs) -> list[tuple[str, str]]:
    return [
        (e.learner_id, e.key)
        for e in logs.events("badges")
        if type(e).__qualname__ == "LearnerBadge.BadgeEarned"
    ]


def awarder_caught_up(logs: Logs, world: World) -> None:
    target = world.positions.last["progress"]
    eventually(lambda: logs.tracking("badges", "progress") >= target, "the awarder to catch up")


def read_caught_up(engine: Engine, env: dict[str, str], world: World, name: str) -> None:
    """Wait until projection `name` has applied everything recorded in its upstreams."""
    for upstream in registry.get(name).upstreams:
        with closing(open_reader(upstream, env)) as reader:
            position = max(world.positions.last.get(upstream, 0), head(reader))
        if position:
            wait_for(engine, name, position, timeout=30, upstream=upstream)


def by_key(found: list[BadgeProgress]) -> dict[str, BadgeProgress]:
    return {b.key: b for b in found}


def test_progress_says_what_remains_and_the_badge_is_earned_once_when_met(
    world: World, env: dict[str, str], logs: Logs, sql_url: str, engine: Engine
) -> None:
    define(world, "alpha", SCIENCE)
    define(world, "alpha", CLUSTER)
    alice = world.learner("alpha", "alice")
    physics, chemistry = science_courses(world, "alpha")
    with projecting(registry.get("badges"), env, sql_url, lease_ttl=TTL):
        with running(AWARDER, env=env):
            finish(world, "alpha", alice, physics)
            finish(world, "alpha", alice, chemistry, upto=1)
            awarder_caught_up(logs, world)
            read_caught_up(engine, env, world, "badges")
            before = by_key(badge_progress(engine, "alpha", alice))
            assert earned_events(logs) == []
            science = before["science-scholar"]
            assert science.remaining == "complete 1 more STEM quest and earn 100 more STEM XP"
            assert (science.quests_done, science.quests_needed) == (1, 2)
            assert (science.xp_done, science.xp_needed, science.earned_at) == (400, 500, None)
            assert before["art-cluster"].remaining == (
                "complete 2 more Spark courses (Graphic Design, Illustration) "
                "and earn 200 more art XP"
            )

            finish(world, "alpha", alice, chemistry)  # the last task: the rule is met
            earned = logs.wait(
                "badges",
                learner_badge_id("alpha", alice, badge_id("alpha", "science-scholar")),
                "Science Scholar earned",
            )
            for course in art_courses(world, "alpha"):
                finish(world, "alpha", alice, course)
            awarder_caught_up(logs, world)
        # A restarted awarder meets more completions of a learner who holds both badges.
        biology = sync_course(
            world, "alpha", "course_bio", "Biology", [("bio-1", "Biology lab", 2)]
        )
        finish(world, "alpha", alice, biology)
        with running(AWARDER, env=env):
            awarder_caught_up(logs, world)
        read_caught_up(engine, env, world, "badges")
        after = by_key(badge_progress(engine, "alpha", alice))
    assert sorted(earned_events(logs)) == [(alice, "art-cluster"), (alice, "science-scholar")]
    assert after["science-scholar"].earned_at == earned.earned_at
    assert after["science-scholar"].remaining == EARNED
    assert (after["science-scholar"].quests_done, after["science-scholar"].xp_done) == (3, 700)
    assert after["art-cluster"].earned_at is not None


def test_a_replayed_completion_earns_nothing_twice(
    world: World, env: dict[str, str], logs: Logs
) -> None:
    define(world, "alpha", SCIENCE)
    alice = world.learner("alpha", "alice")
    for course in science_courses(world, "alpha"):
        finish(world, "alpha", alice, course)
    with running(AWARDER, env=env):
        awarder_caught_up(logs, world)
    assert earned_events(logs) == [(alice, "science-scholar")]
    # Every completion again, as a replay from position zero would bring them.
    progress = UpstreamLog("progress", env)
    hub = UpstreamLog("hub", env)
    awarder = BadgeAwarder(env, hub=hub, progress=progress)
    try:
        notifications = progress.recorder.select_notifications(start=1, limit=1000)
        collected = []
        for notification in notifications:
            processing = ProcessingEvent(Tracking("progress", notification.id))
            awarder.policy(progress.mapper.to_domain_event(notification), processing)
            collected += processing.events
    finally:
        awarder.close()
        progress.close()
        hub.close()
    assert len(notifications) == 4
    assert collected == []


def test_a_retired_badge_is_not_earned_and_is_shown_only_to_who_earned_it(
    world: World, env: dict[str, str], logs: Logs, sql_url: str, engine: Engine
) -> None:
    define(world, "alpha", SCIENCE)
    define(world, "alpha", CLUSTER)
    alice, bob = world.learner("alpha", "alice"), world.learner("alpha", "bob")
    for course in art_courses(world, "alpha"):
        finish(world, "alpha", alice, course)
    retired = retire_badge(world.hub, "alpha", "art-cluster")
    assert retired.position is not None
    world.positions.last["hub"] = retired.position
    for course in art_courses(world, "alpha"):
        finish(world, "alpha", bob, course)
    # Processed only now: each completion is judged by the rules in force when it happened.
    with running(AWARDER, env=env):
        awarder_caught_up(logs, world)
    assert earned_events(logs) == [(alice, "art-cluster")]
    with projecting(registry.get("badges"), env, sql_url, lease_ttl=TTL):
        read_caught_up(engine, env, world, "badges")
        alices, bobs = badge_progress(engine, "alpha", alice), badge_progress(engine, "alpha", bob)
    assert [(b.key, b.retired, b.earned_at is not None) for b in alices] == [
        ("art-cluster", True, True),
        ("science-scholar", False, False),
    ]
    assert [b.key for b in bobs] == ["science-scholar"]


def test_tenants_are_kept_apart(
    world: World, env: dict[str, str], logs: Logs, sql_url: str, engine: Engine
) -> None:
    for tenant in ("alpha", "beta"):
        define(world, tenant, SCIENCE)
    alice = world.learner("alpha", "alice")
    bea = world.learner("beta", "bea")
    for course in science_courses(world, "alpha"):
        finish(world, "alpha", alice, course)
    science_courses(world, "beta")
    with running(AWARDER, env=env), projecting(registry.get("badges"), env, sql_url, lease_ttl=TTL):
        awarder_caught_up(logs, world)
        read_caught_up(engine, env, world, "badges")
        beas = badge_progress(engine, "beta", bea)
        alice_in_beta = badge_progress(engine, "beta", alice)
        nobody = badge_progress(engine, "gamma", alice)
    assert earned_events(logs) == [(alice, "science-scholar")]
    assert [(b.badge_id, b.quests_done, b.xp_done, b.earned_at) for b in beas] == [
        (badge_id("beta", "science-scholar"), 0, 0, None)
    ]
    # Alice's completions are alpha's: read as beta's, she has done nothing there.
    assert [(b.xp_done, b.earned_at) for b in alice_in_beta] == [(0, None)]
    assert nobody == []


def test_xp_per_pillar_has_all_five_pillars_and_their_total(
    world: World, env: dict[str, str], sql_url: str, engine: Engine
) -> None:
    alice, bob = world.learner("alpha", "alice"), world.learner("alpha", "bob")
    assert learner_xp(engine, "alpha", alice) == LearnerXp(dict.fromkeys(PILLARS, 0))
    physics, _ = science_courses(world, "alpha")
    design, _ = art_courses(world, "alpha")
    finish(world, "alpha", alice, physics)
    finish(world, "alpha", alice, design)
    world.complete("alpha", alice, physics.tasks[0], [], submitted_at="2025-02-01T00:00:00Z")
    with projecting(registry.get("portfolio"), env, sql_url, lease_ttl=TTL):
        read_caught_up(engine, env, world, "portfolio")
        found = learner_xp(engine, "alpha", alice)
        others = learner_xp(engine, "alpha", bob), learner_xp(engine, "beta", alice)
    assert list(found.by_pillar) == ["stem", "communication", "art", "wellness", "civics"]
    assert found.by_pillar == {
        "stem": 300,
        "communication": 0,
        "art": 100,
        "wellness": 0,
        "civics": 0,
    }
    assert found.total == 400  # the resubmission added nothing
    assert others == (LearnerXp(dict.fromkeys(PILLARS, 0)), LearnerXp(dict.fromkeys(PILLARS, 0)))
