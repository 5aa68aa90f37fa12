"""Family figures (issue 4): rebuild of the `family` read model, and the parent's view read
by 32 concurrent readers.

    .venv/bin/python bench/bench_family.py            # 4,000 students, about 100,000 events
    .venv/bin/python bench/bench_family.py --quick    # 400 students, a smoke run

On the bundled nats-server (file storage) and a SQLite file (or `--database-url`): a
synthetic log of two tenants, 40 courses of 5 tasks with due dates; per student: sign-in,
2 enrolments, 3 completed tasks in the `progress` log; every second student has a linked
parent, every fourth an observer (invited, accepted, one comment). Then `rebuild("family")`
from position zero (events per second over both logs), and `parent_view` for random
parents from 32 threads at once (p50 / p95 / p99). Prints a Markdown table and writes JSON
to bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from common import machine, percentile, results_path, write_results
from eventsourcing.application import Application

from connectors.domain import Progress, progress_id
from hub.bootstrap import build_runtime, eventsourcing_env
from hub.domain.base import HubAggregate
from hub.domain.guardians import Guardianship
from hub.domain.learners import EmailIndex, Learner
from hub.domain.observers import ObserverCircle, new_invitation_code
from hub.domain.quests import Quest, Task
from infra.nats_server import EmbeddedNatsServer
from infra.settings import Settings
from infra.sql import make_engine
from projections.family import parent_view
from projections.rebuild import rebuild

T0 = dt.datetime(2025, 1, 15, 14, 30, tzinfo=dt.UTC)
TENANTS = ("north", "south")
COURSES, TASKS = 20, 5  # per tenant
READERS = 32


class ProgressLog(Application[str]):
    name = "progress"


def learner(tenant: str, key: str, role: str) -> list[HubAggregate]:
    made = Learner(
        tenant=tenant,
        source="spark",
        external_id=key,
        email=f"{key}@example.org",
        given_name=key.title(),
        family_name="Bench",
        role=role,
    )
    return [made, EmailIndex(tenant=tenant, email=made.email, learner_id=made.id)]


def courses(tenant: str) -> tuple[list[HubAggregate], list[Task]]:
    quests: list[HubAggregate] = []
    tasks: list[Task] = []
    for c in range(COURSES):
        quest = Quest(
            tenant=tenant, source="spark", external_id=f"c{c}", details={"title": f"C{c}"}
        )
        quests.append(quest)
        for t in range(TASKS):
            due = (T0 + dt.timedelta(days=t)).isoformat()
            details = {"title": f"T{c}.{t}", "pillar": "stem", "xp": 100, "due_at": due}
            tasks.append(
                Task(
                    tenant=tenant,
                    source="spark",
                    external_id=f"c{c}t{t}",
                    quest_id=quest.id,
                    details=details,
                )
            )
    return quests, tasks


def student(tenant: str, n: int, tasks: list[Task]) -> tuple[list[HubAggregate], Progress, str]:
    """A student's hub aggregates, their progress, and their parent's id ("" if none)."""
    made = learner(tenant, f"s{n}", "student")
    alice: Any = made[0]
    mine = random.sample(range(COURSES), 2)
    for c in mine:
        alice.enrol(tasks[c * TASKS].quest_id, "spark")
    progress: Progress | None = None
    done = [tasks[c * TASKS + t] for c in mine for t in range(2)][:3]
    for i, task in enumerate(done):
        progress = Progress.record(
            progress,
            progress_id(tenant, alice.id),
            Progress.TaskCompleted,
            learner_id=alice.id,
            task_id=task.id,
            quest_id=task.quest_id,
            task_title=task.title,
            quest_title=None,
            pillar="stem",
            xp=100,
            evidence=[],
            evidence_rejected=[],
            text=f"work {i}",
            submitted_at=(T0 - dt.timedelta(days=i * 5)).isoformat(),
            grade=None,
            source="spark",
            submission_id=f"{tenant}.Submission.{n:08x}{i}",
        )
    assert progress is not None
    parent = ""
    if n % 2 == 0:
        mum = learner(tenant, f"p{n}", "parent")
        parent = mum[0].id
        made += [
            *mum,
            Guardianship(
                tenant=tenant,
                guardian_id=parent,
                student_id=alice.id,
                relationship="mother",
                source="oneroster",
            ),
        ]
    if n % 4 == 0:
        circle = ObserverCircle(tenant=tenant, student_id=alice.id)
        code = new_invitation_code(circle.id)
        invitation = circle.invite(
            code=code,
            email=f"o{n}@example.org",
            name="Gran",
            relationship="grandparent",
            can_view_evidence=True,
            can_comment=True,
            now=T0,
        )
        gran = learner(tenant, f"o{n}", "observer")
        circle.accept(invitation, observer_id=gran[0].id, new_account=False, now=T0)
        circle.comment(gran[0].id, task_id=done[0].id, text="Lovely", now=T0)
        made += [*gran, circle]
    return made, progress, parent


def record(hub: Any, progress_log: ProgressLog, students: int) -> tuple[int, list[Any]]:
    """Record the synthetic log; how many events, and the (tenant, parent id) pairs."""
    parents: list[tuple[str, str]] = []
    events = 0
    for tenant in TENANTS:
        quests, tasks = courses(tenant)
        events += len(hub.save(*quests))
        for offset in range(0, len(tasks), 50):
            events += len(hub.save(*tasks[offset : offset + 50]))
        for first in range(0, students // len(TENANTS), 20):
            hub_side: list[HubAggregate] = []
            progress_side: list[Progress] = []
            for n in range(first, min(first + 20, students // len(TENANTS))):
                made, progress, parent = student(tenant, n, tasks)
                hub_side += made
                progress_side.append(progress)
                if parent:
                    parents.append((tenant, parent))
            events += len(hub.save(*hub_side)) + len(progress_log.save(*progress_side))
    return events, parents


def read_parents(engine: Any, parents: list[tuple[str, str]], reads: int) -> dict[str, float]:
    def one(_: int) -> float:
        tenant, parent = random.choice(parents)
        started = time.perf_counter()
        view = parent_view(engine, tenant, parent, now=T0)
        assert view is not None
        assert view.students
        return (time.perf_counter() - started) * 1000

    with ThreadPoolExecutor(READERS) as pool:
        list(pool.map(one, range(READERS)))  # warm the pool's connections
        started = time.perf_counter()
        samples = list(pool.map(one, range(reads)))
        seconds = time.perf_counter() - started
    return {
        "reads": reads,
        "per_second": round(reads / seconds),
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(sorted(samples), 95) or 0.0, 2),
        "p99_ms": round(percentile(sorted(samples), 99) or 0.0, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 students, a smoke run")
    parser.add_argument("--students", type=int, default=4000)
    parser.add_argument("--database-url", help="read models (default: SQLite in a temp folder)")
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/...)")
    args = parser.parse_args(argv)
    students = 400 if args.quick else args.students
    random.seed(7)
    load_before = list(os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench-family-") as workdir:
        nats = EmbeddedNatsServer(Path(workdir) / "nats")
        nats.start()
        url = args.database_url or f"sqlite:///{workdir}/read.sqlite3"
        settings = Settings(data_dir=Path(workdir), stream_prefix="bench")
        runtime = build_runtime(settings, nats.url)
        env = eventsourcing_env(settings, nats.url)
        progress_log = ProgressLog(env)
        engine = make_engine(url)
        try:
            print(f"recording {students} students ...", flush=True)
            events, parents = record(runtime.hub, progress_log, students)
            print(f"rebuilding family from {events} events ...", flush=True)
            started = time.perf_counter()
            rebuild("family", env, url)
            seconds = time.perf_counter() - started
            print(f"parent_view, {READERS} readers ...", flush=True)
            reads = read_parents(engine, parents, 2000 if not args.quick else 400)
        finally:
            engine.dispose()
            progress_log.close()
            runtime.hub.close()
            nats.stop()
    results = {
        "benchmark": "family",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": "postgresql" if args.database_url else "sqlite",
        "students": students,
        "rebuild": {
            "events": events,
            "seconds": round(seconds, 2),
            "events_per_second": round(events / seconds),
        },
        "parent_view": reads,
        "machine": machine(load_before),
    }
    print("| figure | value |\n| --- | --- |")
    rate = round(events / seconds)
    print(f"| rebuild `family` ({events} events) | {rate} events/s |")
    print(
        f"| `parent_view`, {READERS} readers | p50 {reads['p50_ms']} ms, p95 {reads['p95_ms']} ms, "
        f"p99 {reads['p99_ms']} ms ({reads['per_second']}/s) |"
    )
    write_results(results, args.output or results_path("family"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
