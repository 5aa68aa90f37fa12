"""Pages figure (issue 4): the portfolio page's latency with 32 concurrent readers.

    .venv/bin/python bench/bench_pages.py            # full run, about a minute on 2 cores
    .venv/bin/python bench/bench_pages.py --quick    # smoke run

The bundled nats-server; a log of learners with completed tasks (text and evidence
files) in several courses, each with a public showcase; the portfolio read model built
by the real projection, which is then stopped; the hub's HTTP app (with the pages'
readers, as `hub serve` builds it) under uvicorn in its own process; and this process,
which sends the load over raw HTTP/1.1 keep-alive connections (bench/common.py's client).

Two pages: the signed-in learner's own `/portfolio` (session cookie) and the public
`/t/<tenant>/portfolio/<slug>`, each learner's in turn. 32 clients flat out (closed
loop: latency is then the queue, 32 / throughput), then the same 32 at a fixed offered
rate, half the flat-out throughput, where p95 is judged (no coordinated omission).

Prints a Markdown table and writes JSON to bench/results/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import (
    HubConfig,
    Run,
    bench_hub,
    closed_loop,
    http_request,
    machine,
    open_loop,
    quiet,
    results_path,
    running,
    serve_app,
    write_results,
)

from connectors.domain import Progress, progress_id
from hub.bootstrap import build_runtime, eventsourcing_env
from hub.domain.learners import Learner
from hub.domain.quests import Quest, Task
from hub.http.app import build_http_app
from hub.pages.commands import set_showcase
from hub.spark.sessions import SessionSigner, session_key
from infra.blobs import FolderBlobStore
from infra.nats_client import NatsConnection
from infra.sql import make_engine
from projections import projection_statuses
from projections.portfolio import portfolio, wait_for
from projections.portfolio_pages import page_readers
from projections.registry import start_projections
from projections.upstreams import open_reader

TENANT = "bench"
GOAL_P95_MS = 50.0
PILLARS = ("stem", "communication", "art", "wellness", "civics")


@dataclass
class Sizes:
    learners: int = 300
    courses: int = 10
    tasks_per_course: int = 4
    completions_per_learner: int = 8
    clients: int = 32
    seconds: float = 12.0
    warmup_seconds: float = 2.0


QUICK = Sizes(learners=60, seconds=4.0, warmup_seconds=1.0)


def serve_pages(config: HubConfig) -> None:
    """The hub's HTTP app as `hub serve` builds it, until SIGTERM."""
    quiet(config, "http")
    runtime = build_runtime(config.settings(), config.nats_url)
    app = build_http_app(
        runtime,
        admin_token=config.admin_token,
        projection_statuses=projection_statuses,
        portfolio=portfolio,
        pages=page_readers,
    )
    serve_app(app, config.port)


def record_log(config: HubConfig, sizes: Sizes) -> list[tuple[str, str]]:
    """Learners, courses, completions with a text and a file, public showcases; the
    (learner id, slug) of each. Then the portfolio projection catches up and stops."""
    settings = config.settings()
    runtime = build_runtime(settings, config.nats_url)
    env = eventsourcing_env(settings, config.nats_url)
    progress = open_reader("progress", env)
    blobs = FolderBlobStore(Path(config.data_dir) / "blobs")
    hub = runtime.hub
    try:
        hub.register_tenant(TENANT, "Bench School", runtime.box)
        tasks: list[Task] = []
        for c in range(sizes.courses):
            quest = Quest(
                tenant=TENANT, source="spark", external_id=f"c{c}", details={"title": f"Course {c}"}
            )
            made = [
                Task(
                    tenant=TENANT,
                    source="spark",
                    external_id=f"c{c}-t{t}",
                    quest_id=quest.id,
                    details={
                        "title": f"Task {t} of course {c}",
                        "pillar": PILLARS[c % 5],
                        "xp": 50,
                    },
                )
                for t in range(sizes.tasks_per_course)
            ]
            hub.save(quest, *made)
            tasks += made
        learners = []
        for n in range(sizes.learners):
            learner = Learner(
                tenant=TENANT,
                source="spark",
                external_id=f"u{n}",
                email=f"u{n}@example.org",
                given_name=f"Learner{n}",
                family_name="Bench",
                role="student",
            )
            hub.save(learner)
            stored = blobs.put(f"evidence of learner {n}".encode(), "text/plain")
            aggregate = None
            for k in range(sizes.completions_per_learner):
                task = tasks[(n + k * 3) % len(tasks)]
                if aggregate is not None and aggregate.has_completed(task.id):
                    continue
                aggregate = Progress.record(
                    aggregate,
                    progress_id(TENANT, learner.id),
                    Progress.TaskCompleted,
                    learner_id=learner.id,
                    task_id=task.id,
                    quest_id=task.quest_id,
                    task_title=task.title,
                    quest_title=None,
                    pillar=task.details["pillar"],
                    xp=50,
                    evidence=[
                        {
                            "blob": stored.sha256,
                            "type": "text/plain",
                            "filename": "notes.txt",
                            "size": 30,
                        }
                    ],
                    evidence_rejected=[],
                    text=f"What I did for {task.title}, <em>in my words</em>.",
                    submitted_at=f"2025-01-{1 + k:02d}T10:00:00Z",
                    grade=None,
                    source="spark",
                    submission_id=f"{TENANT}.Submission.{n:016x}{k:016x}",
                )
                progress.save(aggregate)
            slug = f"learner-{n}"
            set_showcase(hub, TENANT, learner.id, slug=slug, visibility="public")
            learners.append((learner.id, slug))
        positions = {
            "hub": hub.recorder.max_notification_id() or 0,
            "progress": progress.recorder.max_notification_id() or 0,
        }
    finally:
        progress.close()
        hub.close()
    stop = threading.Event()
    engine = make_engine(config.database_url)
    threads = start_projections(env, config.database_url, stop)
    try:
        wait_for(engine, positions, timeout=600)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        engine.dispose()
        NatsConnection.close_all()
    return learners


def requests_for(config: HubConfig, learners: list[tuple[str, str]]) -> dict[str, list[bytes]]:
    signer = SessionSigner(session_key(config.settings()))
    own, public = [], []
    for learner, slug in learners:
        cookie, _ = signer.issue(
            tenant=TENANT, learner_id=learner, role="student", position=0, now=int(time.time())
        )
        own.append(
            http_request(
                "GET", "/portfolio", config.port, headers={"Cookie": f"hub_session={cookie}"}
            )
        )
        public.append(http_request("GET", f"/t/{TENANT}/portfolio/{slug}", config.port))
    return {
        "own portfolio (/portfolio, signed in)": own,
        "public showcase (/t/…/portfolio/<slug>)": public,
    }


def measure(port: int, requests: list[bytes], sizes: Sizes) -> dict[str, Run]:
    turn = iter(range(10**9))

    def make() -> bytes:
        return requests[next(turn) % len(requests)]

    flat = asyncio.run(closed_loop(sizes.clients, sizes.seconds, make, port, sizes.warmup_seconds))
    rate = max(len(flat.latencies) / flat.seconds / 2, 1.0)
    half = asyncio.run(open_loop(sizes.clients, rate, sizes.seconds, make, port))
    return {"flat_out": flat, "at_half": half}


def table(results: dict[str, Any], clients: int) -> str:
    lines = [
        "| page | clients | requests | per second | p50 ms | p95 ms | p99 ms | statuses |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, runs in results["pages"].items():
        for mode, run in runs.items():
            label = "flat out" if mode == "flat_out" else f"at {run['per_second']}/s"
            lines.append(
                f"| {name}, {label} | {clients} | {run['requests']} | {run['per_second']} | "
                f"{run['p50_ms']} | {run['p95_ms']} | {run['p99_ms']} | {run['statuses']} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--database-url", help="read models (default: SQLite in a temp folder)")
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/...)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    load_before = list(os.getloadavg())
    with bench_hub("bench-pages-", database_url=args.database_url) as config:
        print(f"recording {sizes.learners} learners' portfolios ...", flush=True)
        learners = record_log(config, sizes)
        with running(config, serve_pages):
            pages = {}
            for name, requests in requests_for(config, learners).items():
                print(f"{name} ...", flush=True)
                pages[name] = {
                    mode: run.summary()
                    for mode, run in measure(config.port, requests, sizes).items()
                }
    results: dict[str, Any] = {
        "benchmark": "pages",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "database": "postgresql" if args.database_url else "sqlite",
        "sizes": vars(sizes),
        "machine": machine(load_before),
        "pages": pages,
        "goal_p95_ms": GOAL_P95_MS,
    }
    print()
    print(table(results, sizes.clients))
    print()
    for name, runs in pages.items():
        half = runs["at_half"]["p95_ms"]
        verdict = "met" if half is not None and half < GOAL_P95_MS else "missed"
        print(
            f"{name}: p95 {half} ms at half rate, {runs['flat_out']['p95_ms']} ms flat out "
            f"(goal < {GOAL_P95_MS} ms): {verdict}"
        )
    before, after = results["machine"]["loadavg_before_after"]
    print(f"load average before {before}, after {after} ({os.cpu_count()} CPUs)")
    write_results(results, args.output or results_path("pages", args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
