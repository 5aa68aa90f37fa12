"""The portfolio read model: two upstream logs (hub, progress), rows independent of how they
interleave, read your own writes per upstream, rebuild and restart, tenants kept apart."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest
from eventsourcing.persistence import Tracking
from sqlalchemy import Engine, select

from connectors.domain import Progress, progress_id
from hub.bootstrap import Runtime
from hub.domain.learners import Learner
from hub.domain.quests import Quest, Task
from infra.sql import make_engine
from projections import projection_statuses, rebuild, registry
from projections.portfolio import (
    NAME,
    CompletedTask,
    LearnerProfile,
    Portfolio,
    PortfolioProjection,
    QuestProgress,
    all_rows,
    portfolio,
    wait_for,
)
from projections.portfolio_view import PortfolioView
from projections.registry import status_rows
from projections.runner import run_spec
from projections.status import UpstreamStatus
from tests.projections.helpers import running, status_of
from tests.projections.portfolio_world import (
    World,
    evidence,
    submission_of,
    task_of,
)

SPEC = registry.get(NAME)
TTL = 1.5
T0, T1 = "2025-01-15T14:30:00Z", "2025-01-16T09:00:00Z"


@pytest.fixture
def engines() -> Iterator[Callable[[str], Engine]]:
    made: list[Engine] = []

    def engine_for(url: str) -> Engine:
        made.append(make_engine(url))
        return made[-1]

    yield engine_for
    for engine in made:
        engine.dispose()


def school(world: World, tenant: str) -> dict[str, str]:
    """A learner enrolled in two quests, with two tasks done (one of them twice)."""
    alice = world.learner(tenant, "alice", "Alice", "Smith")
    bio = world.quest(tenant, "course_bio", "Biology")
    art = world.quest(tenant, "course_art", "Digital Art")
    world.enrol(alice, bio)
    world.enrol(alice, art)
    lab = world.task(tenant, bio, "assignment_lab", "Biology Lab: Leaves", 2)
    essay = world.task(tenant, bio, "assignment_essay", "Essay: Sunlight", 3)
    world.complete(tenant, alice, task_of(world, lab), ["lab.pdf", "leaf.png"], text="My lab")
    world.complete(tenant, alice, task_of(world, essay), ["essay.pdf"], submitted_at=T1)
    world.complete(
        tenant, alice, task_of(world, lab), ["lab-v2.pdf"], text="Redone", submitted_at=T1
    )
    return {"alice": alice, "bio": bio, "art": art, "lab": lab, "essay": essay}


def test_a_portfolio_shows_quests_tasks_evidence_and_xp(
    runtime: Runtime, env: dict[str, str], world: World, sql_url: str, engine: Engine
) -> None:
    with running(SPEC, env, sql_url, lease_ttl=TTL):
        ids = school(world, "alpha")
        wait_for(engine, world.positions.last, timeout=30)
        lab_work = CompletedTask(
            task_id=ids["lab"],
            title="Biology Lab: Leaves",
            pillar="stem",
            xp=100,
            submitted_at=T1,
            source="spark",
            evidence=(evidence("lab-v2.pdf"),),
            text="Redone",
            submission_id=submission_of("alpha", ids["alice"], ids["lab"], T1),
            resubmissions=1,
        )
        essay_work = CompletedTask(
            task_id=ids["essay"],
            title="Essay: Sunlight",
            pillar="communication",
            xp=150,
            submitted_at=T1,
            source="spark",
            evidence=(evidence("essay.pdf"),),
            text="",
            submission_id=submission_of("alpha", ids["alice"], ids["essay"], T1),
            resubmissions=0,
        )
        works = tuple(sorted((lab_work, essay_work), key=lambda w: (w.submitted_at, w.task_id)))
        assert portfolio(engine, "alpha", ids["alice"]) == Portfolio(
            tenant="alpha",
            learner_id=ids["alice"],
            learner=LearnerProfile(ids["alice"], "Alice Smith", "alice@example.org", "student"),
            quests=(
                QuestProgress(ids["bio"], "Spark: Biology", enrolled=True, tasks=works),
                QuestProgress(ids["art"], "Spark: Digital Art", enrolled=True, tasks=()),
            ),
            xp_by_pillar={"communication": 150, "stem": 100},
        )

        # The hub renames a quest and a task; the learner drops a quest.
        world.quest("alpha", "course_bio", "Biology II")
        world.task("alpha", ids["bio"], "assignment_lab", "Biology Lab: Leaves, revised", 8)
        world.enrol(ids["alice"], ids["art"], drop=True)
        world.profile(ids["alice"], "Alicia", "Smith", "Alicia@Example.org")
        wait_for(engine, world.positions.last, timeout=30)
        found = portfolio(engine, "alpha", ids["alice"])
    assert found is not None
    assert found.learner == LearnerProfile(
        ids["alice"], "Alicia Smith", "alicia@example.org", "student"
    )
    [bio] = found.quests
    assert (bio.title, bio.enrolled, bio.xp) == ("Spark: Biology II", True, 250)
    lab = next(task for task in bio.tasks if task.task_id == ids["lab"])
    # The title follows the hub; the XP awarded stays what it was when completed.
    assert (lab.title, lab.xp) == ("Biology Lab: Leaves, revised", 100)
    assert (found.total_xp, found.xp_by_pillar) == (250, {"communication": 150, "stem": 100})


def test_tenants_are_kept_apart(
    runtime: Runtime, env: dict[str, str], world: World, sql_url: str, engine: Engine
) -> None:
    with running(SPEC, env, sql_url, lease_ttl=TTL):
        a = school(world, "alpha")
        b = school(world, "beta")
        wait_for(engine, world.positions.last, timeout=30)
    assert a["alice"] != b["alice"]
    mine, theirs = portfolio(engine, "alpha", a["alice"]), portfolio(engine, "beta", b["alice"])
    assert mine is not None
    assert theirs is not None
    assert {q.quest_id for q in mine.quests} == {a["bio"], a["art"]}
    assert {q.quest_id for q in theirs.quests} == {b["bio"], b["art"]}
    # Another tenant's learner id reads as nobody, whichever way round.
    assert portfolio(engine, "beta", a["alice"]) is None
    assert portfolio(engine, "alpha", b["alice"]) is None
    assert portfolio(engine, "gamma", a["alice"]) is None
    for table, rows in all_rows(engine).items():
        assert {row[0] for row in rows} == {"alpha", "beta"}, table


def test_rebuild_with_two_upstreams_gives_identical_rows(
    runtime: Runtime, env: dict[str, str], world: World, sql_url: str, engine: Engine
) -> None:
    with running(SPEC, env, sql_url, lease_ttl=TTL):
        for tenant in ("alpha", "beta"):
            school(world, tenant)
        world.quest("alpha", "course_bio", "Biology II")  # after its completions
        wait_for(engine, world.positions.last, timeout=30)
        before = all_rows(engine)
        status = status_of(projection_statuses(runtime.hub, engine), NAME)
        assert status.upstreams == (
            UpstreamStatus("hub", world.positions.last["hub"], world.positions.last["hub"], 0),
            UpstreamStatus(
                "progress", world.positions.last["progress"], world.positions.last["progress"], 0
            ),
        )

        seen: list[tuple[int, int]] = []
        assert rebuild(NAME, env, sql_url, progress=lambda p, h: seen.append((p, h))) == 2
        assert all_rows(engine) == before
        assert seen[-1][0] == seen[-1][1]
        assert [p for p, _ in seen] == sorted(p for p, _ in seen)

        # The live runner moves to version 2 and follows both logs there.
        bob = world.learner("alpha", "bob")
        essay = str(Task.create_id("alpha", "spark", "assignment_essay"))
        world.complete("alpha", bob, task_of(world, essay), ["bob.pdf"])
        wait_for(engine, world.positions.last, timeout=30)
    rows = all_rows(engine)
    assert len(rows["learners"]) == len(before["learners"]) + 1
    assert len(rows["completed"]) == len(before["completed"]) + 1
    assert status_of(projection_statuses(runtime.hub, engine), NAME).live_version == 2


def test_status_rows_name_each_upstream(
    runtime: Runtime, env: dict[str, str], world: World, sql_url: str, engine: Engine
) -> None:
    school(world, "alpha")
    rows = [r for r in status_rows(runtime.hub, sql_url) if r["projection"] == NAME]
    assert [(r["name"], r["version"], r["position"]) for r in rows] == [
        ("portfolio (hub)", "-", 0),
        ("portfolio (progress)", "-", 0),
    ]
    assert [r["lag"] for r in rows] == [r["head"] for r in rows]
    with running(SPEC, env, sql_url, lease_ttl=TTL):
        wait_for(engine, world.positions.last, timeout=30)
    rows = [r for r in status_rows(runtime.hub, sql_url) if r["projection"] == NAME]
    assert [(r["version"], r["lag"]) for r in rows] == [(1, 0), (1, 0)]
    assert [r["position"] for r in rows] == [world.positions.last[u] for u in ("hub", "progress")]


def test_wait_for_names_its_upstreams(engine: Engine) -> None:
    with pytest.raises(ValueError, match="does not follow 'evidence'"):
        wait_for(engine, {"evidence": 1})
    with pytest.raises(TimeoutError, match="progress"):
        wait_for(engine, {"progress": 1}, timeout=0.05)


# Restart anywhere --------------------------------------------------------------------------


def trapped_child(env: Mapping[str, str], database_url: str, trap_task: str, trapped: Any) -> None:
    """In a child process: run the portfolio and hang inside the batch applying `trap_task`."""

    class Trapped(PortfolioProjection):
        def process_event(self, domain_event: Any, tracking: Tracking) -> None:
            super().process_event(domain_event, tracking)
            if getattr(domain_event, "task_id", None) == trap_task:
                trapped.set()
                threading.Event().wait()  # until SIGKILL, its transaction open

    run_spec(
        replace(SPEC, projection_class=Trapped),
        env,
        database_url,
        threading.Event(),
        lease_ttl=TTL,
        owner="child",
        page_size=20,
    )


@pytest.mark.parametrize("when", ["catching up", "following"])
def test_killed_mid_batch_and_restarted_equals_never_stopped(
    when: str,
    runtime: Runtime,
    env: dict[str, str],
    world: World,
    new_database: Callable[[], str],
    engines: Callable[[str], Engine],
) -> None:
    reference_url, restarted_url = new_database(), new_database()
    reference, restarted = engines(reference_url), engines(restarted_url)
    tenants = [f"school-{n}" for n in range(6)]
    context = multiprocessing.get_context("spawn")
    trapped = context.Event()
    trap_task = str(Task.create_id(tenants[3], "spark", "assignment_essay"))
    child = None
    try:
        if when == "following":
            child = context.Process(
                target=trapped_child, args=(env, restarted_url, trap_task, trapped)
            )
            child.start()
        for tenant in tenants:
            school(world, tenant)
        if child is None:
            child = context.Process(
                target=trapped_child, args=(env, restarted_url, trap_task, trapped)
            )
            child.start()
        assert trapped.wait(timeout=120), "the child never reached the trap"
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child is not None:
            child.join(timeout=30)
    assert child.exitcode == -signal.SIGKILL
    # Of the batch under way, nothing was committed.
    trapped_rows = all_rows(restarted)
    assert all(row[2] != trap_task for row in trapped_rows.get("completed", []))
    if when == "catching up":  # the hub's log first, in pages: all of it committed
        assert len(trapped_rows["learners"]) == len(tenants)
        assert trapped_rows["completed"] == []

    with running(SPEC, env, reference_url, lease_ttl=TTL, owner="reference", page_size=20):
        wait_for(reference, world.positions.last, timeout=120)
    with running(SPEC, env, restarted_url, lease_ttl=TTL, owner="restarted", page_size=20):
        wait_for(restarted, world.positions.last, timeout=120)
    assert all_rows(restarted) == all_rows(reference)
    assert len(all_rows(reference)["completed"]) == 2 * len(tenants)


# Any interleaving of the two logs gives the same rows -----------------------------------


def logs() -> tuple[list[Any], list[Any]]:
    """In memory: the hub's events and the progress connector's, each in its log's order."""
    hub: list[Any] = []
    progress: list[Any] = []
    learner = Learner(
        tenant="alpha", source="spark", external_id="alice", email="a@example.org",
        given_name="Alice", family_name="Smith", role="student",
    )  # fmt: skip
    quest = Quest(tenant="alpha", source="spark", external_id="c", details={"title": "Old"})
    task = Task(
        tenant="alpha", source="spark", external_id="t", quest_id=quest.id,
        details={"title": "Lab", "pillar": "stem", "xp": 100},
    )  # fmt: skip
    learner.enrol(quest.id, "spark")
    hub += learner.collect_events() + quest.collect_events() + task.collect_events()
    quest.update({"title": "New"})
    task.update({"title": "Lab, revised", "pillar": "stem", "xp": 300})
    hub += quest.collect_events() + task.collect_events()

    fields = {
        "learner_id": learner.id, "task_id": task.id, "quest_id": quest.id,
        "task_title": "Lab", "evidence": [evidence("a.pdf")], "evidence_rejected": [],
        "text": "first", "submitted_at": T0, "grade": None, "source": "spark",
        "submission_id": "s1",
    }  # fmt: skip
    done = Progress.record(
        None, progress_id("alpha", learner.id), Progress.TaskCompleted,
        **fields, quest_title="Old", pillar="stem", xp=100,
    )  # fmt: skip
    done.resubmit(**{**fields, "text": "second", "submitted_at": T1, "submission_id": "s2"})
    progress += done.collect_events()
    return hub, progress


def interleavings(hub: list[Any], progress: list[Any], count: int) -> Iterator[list[Any]]:
    """Hub first, progress first, then random merges that keep each log's order."""
    tag = [("hub", e) for e in hub], [("progress", e) for e in progress]
    yield tag[0] + tag[1]
    yield tag[1] + tag[0]
    rng = random.Random(3)
    for _ in range(count):
        order = ["hub"] * len(hub) + ["progress"] * len(progress)
        rng.shuffle(order)
        queues = {"hub": list(tag[0]), "progress": list(tag[1])}
        yield [queues[name].pop(0) for name in order]


def rows_of(engine: Engine, view: PortfolioView) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of one version's tables, by table name without the version."""
    with engine.connect() as conn:
        return {
            table.name.rsplit("_v", 1)[0]: [
                tuple(row)
                for row in conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in view.tables
        }


def test_rows_do_not_depend_on_how_the_logs_interleave(engine: Engine) -> None:
    hub, progress = logs()
    results = []
    for version, merged in enumerate(interleavings(hub, progress, count=12), start=1):
        view = PortfolioView(engine, version)  # versions side by side, none of them live
        view.create_tables()
        projection = PortfolioProjection(view)
        positions = {"hub": 0, "progress": 0}
        with view.batch():
            for upstream, event in merged:
                positions[upstream] += 1
                projection.process_event(event, Tracking(upstream, positions[upstream]))
        results.append(rows_of(engine, view))
    assert all(result == results[0] for result in results)
    [row] = results[0]["portfolio_completed"]
    # The hub's latest titles, the XP of the completion, the latest work.
    assert row[4:9] == ("New", "Lab, revised", "stem", 100, T1)
    assert row[11:] == ("second", "s2", 1)
    assert results[0]["portfolio_xp"] == [("alpha", row[1], "stem", 100)]
