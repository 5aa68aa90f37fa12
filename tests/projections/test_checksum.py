"""Checksums of read models, and the promise they check: rebuilding every projection from the log
gives the read models the live projections built (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, update

from connectors.badges import SPEC as AWARDER
from hub.badges import retire_badge, update_badge
from hub.domain.badges import BadgeRule
from projections import rebuild, registry
from projections.badges_view import BadgesView
from projections.checksum import live_checksum, version_checksum
from projections.pump import open_live_view
from projections.rebuild_together import rebuild_together
from tests.connectors.world import Logs, running
from tests.hub.cli_support import hub
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
from tests.projections.test_badges import awarder_caught_up, read_caught_up

TTL = 1.5
ISSUE_4 = ("portfolio", "badges", "family")


def test_the_checksum_depends_on_the_rows_not_on_the_order_they_were_written(
    engine: Engine,
) -> None:
    spec = registry.get("badges")
    first = open_live_view(spec, engine)
    second = BadgesView(engine, 2)
    second.create_tables()
    rows = [
        {
            "tenant": "alpha",
            "learner_id": f"l{i}",
            "task_id": "t",
            "quest_id": "q",
            "pillar": "stem",
            "xp": i,
        }
        for i in range(5)
    ]
    with engine.begin() as conn:
        conn.execute(insert(first.done), rows)
        conn.execute(insert(second.done), rows[::-1])
    assert version_checksum(engine, "badges", 1) == version_checksum(engine, "badges", 2)
    assert live_checksum(engine, "badges") == version_checksum(engine, "badges", 1)
    with engine.begin() as conn:
        conn.execute(update(second.done).where(second.done.c.learner_id == "l3").values(xp=4))
    assert version_checksum(engine, "badges", 1) != version_checksum(engine, "badges", 2)


def school_year(world: World, tenant: str) -> None:
    """A realistic mix: learners, enrolments, courses synced and renamed, badges defined,
    updated and retired, completions, resubmissions, badges earned."""
    define(world, tenant, SCIENCE)
    define(world, tenant, CLUSTER)
    physics, chemistry = science_courses(world, tenant)
    design, draw = art_courses(world, tenant)
    learners = [world.learner(tenant, name) for name in ("ada", "ben", "cai", "dee")]
    for learner in learners:
        world.enrol(learner, physics.quest_id)
        world.enrol(learner, design.quest_id)
    world.enrol(learners[3], design.quest_id, drop=True)
    ada, ben, cai, _ = learners
    finish(world, tenant, ada, physics)
    finish(world, tenant, ada, chemistry)  # Science Scholar
    finish(world, tenant, ben, design)
    finish(world, tenant, ben, draw)  # Art Cluster
    finish(world, tenant, cai, physics, upto=1)
    world.complete(tenant, ada, physics.tasks[0], ["redo.pdf"], submitted_at="2025-03-01T10:00:00Z")
    looser = BadgeRule(**{**vars(SCIENCE), "min_quests": 1, "min_xp": 100})
    world.positions.last["hub"] = update_badge(world.hub, tenant, looser).position or 0
    finish(world, tenant, cai, physics)  # the looser rule is met now
    world.positions.last["hub"] = retire_badge(world.hub, tenant, CLUSTER.key).position or 0
    finish(world, tenant, cai, design)
    finish(world, tenant, cai, draw)  # retired: not earned
    sync_course(world, tenant, "course_physics", "Physics II", [("phys-1", "Physics lab", 3)])
    world.profile(ada, "Ada", "Lovelace", "ada@example.org")


def live_checksums(
    world: World, env: dict[str, str], sql_url: str, engine: Engine, names: Sequence[str]
) -> dict[str, str | None]:
    """Each projection of `names` run live until it has read the world, then its checksum."""
    runners = [projecting(registry.get(name), env, sql_url, lease_ttl=TTL) for name in names]
    for runner in runners:
        runner.__enter__()
    try:
        for name in names:
            read_caught_up(engine, env, world, name)
    finally:
        for runner in reversed(runners):
            runner.__exit__(None, None, None)
    return {name: live_checksum(engine, name) for name in names}


@pytest.mark.parametrize("together", [(), ISSUE_4], ids=["one-by-one", "issue-4-together"])
def test_rebuilding_every_projection_gives_the_live_read_models_checksums(
    world: World,
    env: dict[str, str],
    logs: Logs,
    sql_url: str,
    engine: Engine,
    together: tuple[str, ...],
) -> None:
    names = registry.names()
    assert {"badges", "portfolio", "event_counts"} <= set(names)
    with running(AWARDER, env=env):
        for tenant in ("alpha", "beta"):
            school_year(world, tenant)
        awarder_caught_up(logs, world)
    earned = [
        e for e in logs.events("badges") if type(e).__qualname__ == "LearnerBadge.BadgeEarned"
    ]
    assert len(earned) == 6  # per tenant: ada, ben, cai
    live = live_checksums(world, env, sql_url, engine, names)
    # Together: the issue-4 read models from one reading of the logs (`rebuild_together`),
    # in pages of 25 events so that the logs are a backlog of several pages and windows.
    versions = rebuild_together(together, env, sql_url, page_size=25)
    assert versions == dict.fromkeys(together, 2)
    for name in names:
        if name not in together:
            assert rebuild(name, env, sql_url) == 2
    assert {name: live_checksum(engine, name) for name in names} == live
    assert len(set(live.values())) == len(names)  # each over its own tables


def test_hub_projections_rebuild_with_several_names_rebuilds_them_together(
    world: World,
    env: dict[str, str],
    logs: Logs,
    sql_url: str,
    engine: Engine,
    tmp_path: Path,
) -> None:
    with running(AWARDER, env=env):
        school_year(world, "alpha")
        awarder_caught_up(logs, world)
    live = live_checksums(world, env, sql_url, engine, ISSUE_4)
    cli_env = {
        "HUB_NATS_URL": env["HUB_NATS_URL"],
        "HUB_STREAM_PREFIX": env["HUB_NATS_STREAM_PREFIX"],
        "HUB_DATA_DIR": str(tmp_path),
        "HUB_DATABASE_URL": sql_url,
    }
    code, output = hub(cli_env, "projections", "rebuild", *ISSUE_4, ISSUE_4[0])
    assert code == 0, output
    for name in ISSUE_4:  # each once, though named twice
        assert output.count(f"{name}: version 2 is live") == 1, output
    assert {name: live_checksum(engine, name) for name in ISSUE_4} == live
    code, output = hub(cli_env, "projections", "rebuild", "nothing-of-that-name")
    assert code != 0
