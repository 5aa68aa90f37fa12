"""Rebuild figure (issue 4): every issue-4 projection rebuilt from a synthetic 1,000,000-event log.

    .venv/bin/python bench/bench_rebuild.py            # full run: 1M events, 10,000 learners
    .venv/bin/python bench/bench_rebuild.py --quick    # smoke run: 60,000 events, a minute
    .venv/bin/python bench/bench_rebuild.py --database-url postgresql://postgres@127.0.0.1/test

1. A bundled nats-server on a free port, file storage in a temporary folder.
2. The log, written straight into JetStream with the hub's recorders in commits of 1,000
   events (one atomic batch each), through the applications' own mappers: tenants' badge
   books (the seeds' three kinds of badge), 200 Spark courses of 5 tasks (`Quest.Synced`
   listing the assignments, `Task.Synced` with pillar and XP), 10,000 learners
   (`Learner.Registered`, `Learner.Enrolled` in 20 courses each), their completions
   (`Progress.TaskCompleted` with one evidence file each) and the badges their completions
   earn (`LearnerBadge.BadgeEarned`, judged with the rules the connector uses). Hub and
   progress commits alternate, as the live log interleaves them.
3. In a child process (its peak RSS is the rebuild's alone), `projections.rebuild` of each
   issue-4 projection (`portfolio`, `badges`), one after the other, as `hub projections
   rebuild NAME` runs it: events read from each upstream log, and the time.

Events per second = events of the log / wall time of rebuilding all of them. Prints a
Markdown table and writes JSON to bench/results/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the hub's packages when run as a script from anywhere

from common import results_path, write_results  # noqa: E402
from eventsourcing.application import Application  # noqa: E402
from eventsourcing.persistence import StoredEvent  # noqa: E402

from connectors.domain import Progress, progress_id  # noqa: E402
from hub.bootstrap import eventsourcing_env  # noqa: E402
from hub.domain.badges import (  # noqa: E402
    DEMO_BADGES,
    BadgeBook,
    BadgeRule,
    Completion,
    LearnerBadge,
    QuestInfo,
    RequiredCourse,
    standing,
)
from hub.domain.learners import Learner  # noqa: E402
from hub.domain.quests import Quest, Task  # noqa: E402
from hub.domain.rules import Pillar  # noqa: E402
from hub.domain.tenants import Tenant  # noqa: E402
from infra.nats_client import NatsConnection  # noqa: E402
from infra.nats_server import EmbeddedNatsServer, free_port  # noqa: E402
from infra.settings import Settings  # noqa: E402
from projections.upstreams import open_reader  # noqa: E402

PROJECTIONS = ("portfolio", "badges", "family")
COMMIT = 1000
GOAL_EVENTS_PER_S = 20_000
LEASE_TTL = 120.0
"""The rebuild leases' time to live: a machine shared with other work can starve a
rebuilding process of the CPU for longer than the hub's 10 seconds."""
PILLARS = [str(p) for p in Pillar]


@dataclass(frozen=True)
class Shape:
    events: int
    tenants: int
    learners: int
    courses: int
    tasks_per_course: int = 5
    enrolments: int = 20


FULL = Shape(events=1_000_000, tenants=4, learners=10_000, courses=200)
QUICK = Shape(events=60_000, tenants=2, learners=600, courses=40)


# -- the log -----------------------------------------------------------------------------


class Writer:
    """Maps aggregates' new events with an application's mapper, commits 1,000 at a time."""

    def __init__(self, app: Application[Any]) -> None:
        self.app = app
        self.pending: list[StoredEvent] = []
        self.written = 0

    def add(self, *aggregates: Any) -> None:
        for aggregate in aggregates:
            for domain_event in aggregate.collect_events():
                self.pending.append(self.app.mapper.to_stored_event(domain_event))

    def flush(self, *, all_of_it: bool = False) -> None:
        while len(self.pending) >= COMMIT or (all_of_it and self.pending):
            batch, self.pending = self.pending[:COMMIT], self.pending[COMMIT:]
            self.app.recorder.insert_events(batch)
            self.written += len(batch)


def tenant_badges(tenant: str, quests: list[Quest]) -> list[BadgeRule]:
    """The seeds' STEM Scholar (a pillar badge) and two course clusters of this tenant's."""
    scholar = DEMO_BADGES[0]
    clusters = []
    for n, pillar in enumerate(("art", "stem")):
        of_pillar = [q for q in quests if q.details["pillar"] == pillar][n * 3 : n * 3 + 3]
        required = tuple(
            RequiredCourse("spark", q.external_id, q.details["title"]) for q in of_pillar
        )
        base = DEMO_BADGES[1 + n]
        clusters.append(BadgeRule(**{**vars(base), "required": required}))
    return [scholar, *clusters]


def courses_of(tenant: str, count: int, tasks: int) -> tuple[list[Quest], list[Task]]:
    quests, all_tasks = [], []
    for c in range(count):
        pillar = PILLARS[c % len(PILLARS)]
        assignments = [f"a{c:03d}_{t}" for t in range(tasks)]
        quest = Quest(
            tenant=tenant,
            source="spark",
            external_id=f"course_{c:03d}",
            details={
                "title": f"Course {c} ({pillar})",
                "pillar": pillar,
                "assignment_ids": assignments,
            },
        )
        quests.append(quest)
        for t, assignment in enumerate(assignments):
            details = {"title": f"Task {t} of course {c}", "pillar": pillar, "xp": 50 * (1 + t % 4)}
            all_tasks.append(
                Task(
                    tenant=tenant,
                    source="spark",
                    external_id=assignment,
                    quest_id=quest.id,
                    details=details,
                )
            )
    return quests, all_tasks


def write_log(env: dict[str, str], shape: Shape, log: Any) -> dict[str, int]:
    """The synthetic log; events written per application."""
    rng = random.Random(42)
    apps = {name: open_reader(name, env) for name in ("hub", "progress", "badges")}
    writers = {name: Writer(app) for name, app in apps.items()}
    hub, progress, badges = writers["hub"], writers["progress"], writers["badges"]
    courses_per_tenant = shape.courses // shape.tenants
    world: list[tuple[str, list[Quest], list[Task], list[BadgeRule]]] = []
    for n in range(shape.tenants):
        tenant = f"school-{n:02d}"
        hub.add(Tenant(tenant, f"School {n}", "bench-api-key-hash", "bench-sealed-secret"))
        quests, tasks = courses_of(tenant, courses_per_tenant, shape.tasks_per_course)
        rules = tenant_badges(tenant, quests)
        book = BadgeBook.open(tenant)
        for rule in rules:
            book.define(rule)
        hub.add(book, *quests, *tasks)
        world.append((tenant, quests, tasks, rules))
    fixed = len(hub.pending)
    per_learner_hub = 1 + shape.enrolments
    # Completions fill the rest, rounded up: the log has at least `shape.events` events
    # (the earned badges come on top).
    completions = -(-(shape.events - fixed - shape.learners * per_learner_hub) // shape.learners)
    completions = min(completions, shape.enrolments * shape.tasks_per_course)
    started = time.perf_counter()
    for n in range(shape.learners):
        tenant, quests, tasks, rules = world[n % shape.tenants]
        learner = Learner(
            tenant=tenant,
            source="spark",
            external_id=f"user{n}",
            email=f"user{n}@example.org",
            given_name=f"Learner{n}",
            family_name="Bench",
            role="student",
        )
        enrolled = rng.sample(range(len(quests)), shape.enrolments)
        for c in enrolled:
            learner.enrol(quests[c].id, "spark")
        hub.add(learner)
        done: list[Completion] = []
        record: Progress | None = None
        for c in enrolled:
            for task in tasks[c * shape.tasks_per_course : (c + 1) * shape.tasks_per_course]:
                if len(done) == completions:
                    break
                record = Progress.record(
                    record,
                    progress_id(tenant, learner.id),
                    Progress.TaskCompleted,
                    learner_id=learner.id,
                    task_id=task.id,
                    quest_id=task.quest_id,
                    task_title=task.title,
                    quest_title=quests[c].details["title"],
                    pillar=task.pillar,
                    xp=task.xp,
                    evidence=[
                        {
                            "blob": f"{n:08x}{len(done):04x}",
                            "type": "application/pdf",
                            "filename": "work.pdf",
                            "size": 20480,
                        }
                    ],
                    evidence_rejected=[],
                    text=f"My work on {task.title}",
                    submitted_at=f"2025-01-{1 + len(done) % 28:02d}T10:00:00+00:00",
                    grade=None,
                    source="spark",
                    submission_id=f"{tenant}.Submission.{n:016x}{len(done):016x}",
                )
                done.append(Completion(task.id, task.quest_id, task.pillar, task.xp))
        if record is not None:
            progress.add(record)
        info = {
            q.id: QuestInfo(
                q.id, "spark", q.details["title"], frozenset(_task_ids(q, tasks, shape))
            )
            for q in quests
        }
        for rule in rules:
            if standing(rule, tenant, done, info).met:
                badges.add(
                    LearnerBadge.earn(
                        tenant,
                        learner.id,
                        rule,
                        quests_done=0,
                        xp_done=0,
                        met_by="bench",
                        earned_at="2025-02-01T00:00:00+00:00",
                    )
                )
        hub.flush()
        progress.flush()
        badges.flush()
        if n and n % 1000 == 0:
            written = sum(w.written for w in writers.values())
            rate = written / (time.perf_counter() - started)
            log(f"  {n} learners, {written} events, {rate:.0f}/s")
    for writer in writers.values():
        writer.flush(all_of_it=True)
    for app in apps.values():
        app.close()
    return {name: writer.written for name, writer in writers.items()}


def _task_ids(quest: Quest, tasks: list[Task], shape: Shape) -> list[str]:
    return [t.id for t in tasks if t.quest_id == quest.id]


# -- the rebuild (child process) -----------------------------------------------------------


def peak_rss_mb() -> float | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def rebuild_all(
    env: dict[str, str],
    database_url: str,
    names: list[str],
    counts: dict[str, int],
    *,
    together: bool,
) -> dict[str, Any]:
    """Rebuild the projections from position zero, together (one reading of the logs) or
    one by one; timings, and the peak RSS of this process."""
    from projections import registry  # noqa: PLC0415
    from projections.rebuild import rebuild  # noqa: PLC0415
    from projections.rebuild_together import rebuild_together  # noqa: PLC0415

    runs = [names] if together else [[name] for name in names]
    found: dict[str, Any] = {"projections": {}}
    for run in runs:
        upstreams = sorted({u for name in run for u in registry.get(name).upstreams})
        events = sum(counts[u] for u in upstreams)
        started, cpu_started = time.perf_counter(), time.process_time()
        if together:
            versions = rebuild_together(run, env, database_url, lease_ttl=LEASE_TTL)
        else:
            versions = {run[0]: rebuild(run[0], env, database_url, lease_ttl=LEASE_TTL)}
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        found["projections"]["+".join(run)] = {
            "versions": versions,
            "upstreams": upstreams,
            "events_read": events,
            "seconds": round(elapsed, 2),
            "cpu_seconds": round(cpu, 2),
            "events_per_s": round(events / elapsed),
            "events_per_cpu_s": round(events / cpu),
        }
    found["seconds"] = round(sum(p["seconds"] for p in found["projections"].values()), 2)
    found["cpu_seconds"] = round(sum(p["cpu_seconds"] for p in found["projections"].values()), 2)
    found["peak_rss_mb"] = peak_rss_mb()
    return found


def rebuild_in_children(
    env: dict[str, str],
    database_url: str,
    groups: list[list[str]],
    counts: dict[str, int],
    *,
    together: bool,
) -> dict[str, Any]:
    """Each group rebuilt by a child process of its own, all at once (a process per core):
    the wall time is the slowest child's, the CPU time and the peak RSS the sum of theirs."""
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", json.dumps(child)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for child in (
            {
                "env": env,
                "database_url": database_url,
                "names": names,
                "counts": counts,
                "together": together,
            }
            for names in groups
        )
    ]
    found: dict[str, Any] = {"projections": {}, "seconds": 0.0, "cpu_seconds": 0.0}
    peaks = []
    for child in children:
        out, _ = child.communicate()
        if child.returncode:
            for other in children:  # none left running without its server
                other.kill()
            raise subprocess.CalledProcessError(child.returncode, child.args)
        result = json.loads(out.strip().splitlines()[-1])
        found["projections"].update(result["projections"])
        found["seconds"] = max(found["seconds"], result["seconds"])
        found["cpu_seconds"] = round(found["cpu_seconds"] + result["cpu_seconds"], 2)
        peaks.append(result["peak_rss_mb"] or 0.0)
    found["peak_rss_mb"] = round(sum(peaks), 1)
    found["processes"] = len(children)
    return found


def _count(app: Application[Any]) -> int:
    """Events in `app`'s log (by reading it: JetStream sequences are the stream's)."""
    count, position = 0, 0
    while True:
        page = app.recorder.select_notifications(start=position + 1, limit=5000)
        if not page:
            return count
        count += len(page)
        position = page[-1].id


# -- the run -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="60,000 events: a smoke run")
    parser.add_argument("--database-url", help="read models (default: a SQLite file)")
    parser.add_argument(
        "--groups",
        action="append",
        help="projections per child process, ';' between processes run at once "
        "(default: one process, all of them); e.g. 'portfolio;badges,family'; repeated: "
        "each rebuilds all of them again from the same log, one after the other",
    )
    parser.add_argument(
        "--one-by-one",
        action="store_true",
        help="each projection with its own reading of the logs, as `rebuild` alone does",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)  # JSON: the child's arguments
    args = parser.parse_args(argv)
    if args.child:
        child = json.loads(args.child)
        found = rebuild_all(
            child["env"],
            child["database_url"],
            child["names"],
            child["counts"],
            together=child["together"],
        )
        print(json.dumps(found))
        return 0
    runs = [
        [group.split(",") for group in groups.split(";")]
        for groups in args.groups or [",".join(PROJECTIONS)]
    ]
    shape = QUICK if args.quick else FULL

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-rebuild-") as folder:
        work = Path(folder)
        server = EmbeddedNatsServer(work / "nats", port=free_port())
        server.start()
        try:
            # A busy machine (two rebuilding processes on two cores, and the server) is
            # slower to answer than the hub's default timeout allows.
            settings = Settings(data_dir=work, stream_prefix="bench", nats_timeout_s=20.0)
            # A busy machine (two rebuilding processes on two cores, and the server) is
            # slower to answer than the hub's default timeout allows.
            env = eventsourcing_env(
                settings.model_copy(update={"nats_timeout_s": 20.0}), server.url
            )
            database_url = args.database_url or f"sqlite:///{work / 'read.sqlite3'}"
            log(
                f"writing {shape.events} events: {shape.learners} learners, {shape.courses} courses"
            )
            started = time.perf_counter()
            written = write_log(env, shape, log)
            write_s = time.perf_counter() - started
            total = sum(written.values())
            log(f"wrote {written} ({total}) in {write_s:.1f} s")
            counts = {}
            for name in written:
                with contextlib.closing(open_reader(name, env)) as reader:
                    counts[name] = _count(reader)
            NatsConnection.close_all()
            rebuilt = []
            for groups in runs:
                log(f"rebuilding {groups}")
                found = rebuild_in_children(
                    env, database_url, groups, counts, together=not args.one_by_one
                )
                found["groups"] = groups
                found["events_per_s"] = round(total / found["seconds"])
                found["events_per_cpu_s"] = round(total / found["cpu_seconds"])
                found["goal_met"] = found["events_per_s"] >= GOAL_EVENTS_PER_S
                rebuilt.append(found)
                log(json.dumps(found))
        finally:
            NatsConnection.close_all()
            server.stop()
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "shape": asdict(shape),
        "database": "postgresql" if args.database_url else "sqlite",
        "written": written,
        "write_seconds": round(write_s, 1),
        "log_events": total,
        "together": not args.one_by_one,
        "runs": rebuilt,
        "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in load_before],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(report(result))
    if not args.quick:
        write_results(result, results_path("rebuild"))
    return 0


def report(result: dict[str, Any]) -> str:
    lines = [
        "| processes | projections | upstreams | events read | seconds | events/s | CPU s "
        "| events/CPU s |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in result["runs"]:
        for name, found in run["projections"].items():
            lines.append(
                f"| {run['processes']} | {name} | {', '.join(found['upstreams'])} | "
                f"{found['events_read']} | {found['seconds']} | {found['events_per_s']} | "
                f"{found['cpu_seconds']} | {found['events_per_cpu_s']} |"
            )
    lines.append("")
    for run in result["runs"]:
        verdict = "met" if run["goal_met"] else "missed"
        groups = " | ".join("+".join(group) for group in run["groups"])
        lines.append(
            f"{groups}: log of {result['log_events']} events rebuilt in {run['seconds']} s: "
            f"{run['events_per_s']} events/s (goal >= {GOAL_EVENTS_PER_S}: {verdict}), "
            f"{run['events_per_cpu_s']} events per CPU second of the rebuilding processes; "
            f"peak RSS {run['peak_rss_mb']} MB"
        )
    lines.append(f"load average before {result['load_before']}, after {result['load_average']}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
