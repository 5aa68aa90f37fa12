"""Spark figures (issue 3): webhook ingest beside a bare endpoint, SSO, submission to portfolio.

    .venv/bin/python bench/bench_spark.py            # full run, about two minutes on 2 cores
    .venv/bin/python bench/bench_spark.py --quick    # smoke run, about half a minute

Each role runs in its own process, as `hub serve`, `hub project` and `hub connect` do:
the bundled nats-server; the hub's HTTP app under uvicorn, with one extra route,
`POST /bench/noop`, that answers 202 and does nothing (the bare endpoint); projections
and connectors; and this process, which runs the Spark simulator (evidence files) and
the load: raw HTTP/1.1 keep-alive connections on asyncio, so that the client's own cost
stays small beside the server's on a small machine.

  1. submission -> evidence in the portfolio: signed submissions with one small PDF URL on
     the simulator, a few at a time; the time from sending each until `portfolio()`
     shows its evidence (the submission id of the 202 on the completed task), polled
     every 5 ms.
  2. SSO: `GET /t/{tenant}/spark/sso?token=...` with fresh tokens (new and returning
     learners), several at a time, flat out; then the same clients at a fixed offered
     rate, half the flat-out throughput, where p95 is judged (flat out, it is queueing,
     as for the webhook below); 303 expected.
  3. ingest: 32 concurrent clients for a fixed time, first against the bare endpoint,
     then against the submission webhook (every body a new submission, same size), flat
     out: the throughput ratio. Flat out, latency is queueing (32 clients / throughput),
     so p99 is then measured with the same 32 clients at a fixed offered rate, half the
     webhook's flat-out throughput, for both endpoints. Projections and connectors are
     stopped for this phase, so that it measures the ingest path (in production they
     run on other machines).

Prints a Markdown table and writes JSON to bench/results/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import hmac
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from common import (
    _LENGTH,
    Connection,
    HubConfig,
    Run,
    bench_hub,
    closed_loop,
    fixed_count,
    free_port,
    http_request,
    machine,
    ms,
    open_loop,
    percentile,
    quiet,
    results_path,
    run_workers,
    running,
    serve_hub,
    start_process,
    stop_process,
    wait_ready,
    write_results,
)

from connectors.course_sync import sync_tenant
from connectors.spark_api import SparkClients
from hub.bootstrap import build_runtime, eventsourcing_env
from hub.dev import (
    SparkSimulator,
    sso_token,
    submission_payload,
    url_file,
)
from hub.dev.spark_client import encode
from hub.domain.learners import learner_id
from hub.spark.connection import connect_spark
from infra.nats_client import NatsConnection
from infra.sql import make_engine
from projections.portfolio import portfolio
from projections.upstreams import open_readers

TENANT = "bench"
GOALS = {
    "ingest_ratio_min": 0.5,
    "ingest_p99_ms_max": 25.0,
    "sso_p95_ms_max": 30.0,
    "evidence_p95_ms_max": 1000.0,
}
# What bench_lti and bench_lti_tool (written before bench/common.py) import from here.
_quiet = quiet
__all__ = [
    "_LENGTH",
    "HubConfig",
    "Run",
    "_quiet",
    "closed_loop",
    "fixed_count",
    "free_port",
    "http_request",
    "machine",
    "ms",
    "open_loop",
    "percentile",
    "serve_hub",
    "start_process",
    "stop_process",
    "wait_ready",
]


@dataclass
class Sizes:
    ingest_seconds: float = 15.0
    ingest_warmup_seconds: float = 3.0
    ingest_clients: int = 32
    sso_requests: int = 600
    sso_clients: int = 8
    sso_users: int = 150
    evidence_submissions: int = 120
    evidence_clients: int = 4


QUICK = Sizes(
    ingest_seconds=4,
    ingest_warmup_seconds=1,
    sso_requests=120,
    sso_users=40,
    evidence_submissions=30,
)


# -- the workloads --------------------------------------------------------------------------


@dataclass
class Spark:
    """What the bench knows of the tenant's Spark connection and the simulator."""

    port: int
    sso_secret: str
    webhook_secret: str
    file_url: str
    assignments: list[tuple[str, str]]
    """(course, assignment) of every synced assignment"""
    counter: int = 0

    def submission(self, user: str, which: int, files: bool = True) -> bytes:
        self.counter += 1
        moment = dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=self.counter)
        course, assignment = self.assignments[which % len(self.assignments)]
        payload = submission_payload(
            user=user,
            assignment=assignment,
            course=course,
            text="Bench work " * 20,
            files=[url_file(self.file_url)] if files else [],
            grade=90.0,
            submitted_at=moment,
        )
        body = encode(payload)
        signature = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        return http_request(
            "POST",
            f"/t/{TENANT}/spark/webhook/submission",
            self.port,
            body,
            {"Content-Type": "application/json", "X-Spark-Signature": signature},
        )

    def bare(self, user: str, which: int) -> bytes:
        signed = self.submission(user, which)
        return signed.replace(f"/t/{TENANT}/spark/webhook/submission".encode(), b"/bench/noop", 1)

    def sso(self, user: str) -> bytes:
        token = sso_token(
            self.sso_secret,
            sub=user,
            email=f"{user}@bench.example",
            given_name="Bench",
            family_name=user,
            course_ids=["course_bio"],
        )
        return http_request("GET", f"/t/{TENANT}/spark/sso?token={token}", self.port)


def measure_evidence(
    spark: Spark, engine: Any, sizes: Sizes, users: list[str], samples: dict[str, list[float]]
) -> Run:
    """Submission to evidence in the portfolio, `evidence_clients` at a time; `samples` gets
    each submission's wall-clock times sent and shown, by submission id."""

    def shown(user: str, submission_id: str) -> bool:
        found = portfolio(engine, TENANT, learner_id(TENANT, "spark", user))
        return found is not None and any(
            task.submission_id == submission_id and task.evidence
            for quest in found.quests
            for task in quest.tasks
        )

    async def one(connection: Connection, i: int) -> int:
        user = users[i % len(users)]
        sent = time.time()
        status, body = await connection.send(spark.submission(user, i // len(users)))
        if status != 202:
            return status
        submission_id = json.loads(body)["submission_id"]
        deadline = time.perf_counter() + 30
        while not await asyncio.to_thread(shown, user, submission_id):
            if time.perf_counter() > deadline:
                return 504
            await asyncio.sleep(0.005)
        samples[submission_id] = [sent, time.time()]
        return 200

    return asyncio.run(
        fixed_count(sizes.evidence_clients, sizes.evidence_submissions, one, spark.port)
    )


HOPS = ("received", "collected", "completed", "shown")


def hops(config: HubConfig, samples: dict[str, list[float]]) -> dict[str, Any]:
    """Where the time of submission -> portfolio goes, from the events' own timestamps:
    sent -> Submission.Received (ingress) -> EvidenceCollection.Collected (download) ->
    Progress.TaskCompleted/Resubmitted (progress) -> shown by the portfolio (projection)."""
    env = eventsourcing_env(config.settings(), config.nats_url)
    stamps: dict[str, dict[str, float]] = {sid: {} for sid in samples}
    wanted = {
        "hub": ("Submission.Received", "received"),
        "evidence": ("EvidenceCollection.Collected", "collected"),
        "progress": ("Progress.TaskCompleted", "completed"),
    }
    try:
        with open_readers(list(wanted), env) as apps:
            for app in apps:
                qualname, hop = wanted[app.name]
                start = 1
                while page := app.recorder.select_notifications(start, 1000):
                    for notification in page:
                        event = app.mapper.to_domain_event(notification)
                        name = type(event).__qualname__
                        if name not in (qualname, "Progress.TaskResubmitted"):
                            continue
                        sid = getattr(event, "submission_id", str(event.originator_id))
                        if sid in stamps:
                            stamps[sid].setdefault(hop, event.timestamp.timestamp())
                    start = page[-1].id + 1
    finally:
        NatsConnection.close_all()
    steps: dict[str, list[float]] = {hop: [] for hop in HOPS}
    for sid, (sent, shown) in samples.items():
        times = [sent, *(stamps[sid].get(h) for h in HOPS[:-1]), shown]
        if None in times:
            continue
        for hop, before, after in zip(HOPS, times, times[1:], strict=False):
            steps[hop].append(after - before)
    return {
        hop: {"p50_ms": ms(percentile(sorted(v), 50)), "p95_ms": ms(percentile(sorted(v), 95))}
        for hop, v in steps.items()
    }


def measure_sso(spark: Spark, sizes: Sizes) -> dict[str, Run]:
    """Flat out (closed loop: its latency is mostly queueing), then at half that throughput
    on a fixed schedule, where the latency of each sign-in shows (as for the webhook)."""

    async def one(connection: Connection, i: int) -> int:
        status, _ = await connection.send(spark.sso(f"sso-user-{i % sizes.sso_users}"))
        return status

    flat = asyncio.run(fixed_count(sizes.sso_clients, sizes.sso_requests, one, spark.port))
    counter = iter(range(10**9))

    def make() -> bytes:
        return spark.sso(f"sso-user-{next(counter) % sizes.sso_users}")

    rate = max(len(flat.latencies) / flat.seconds / 2, 1.0)
    half = asyncio.run(open_loop(sizes.sso_clients, rate, sizes.ingest_seconds, make, spark.port))
    return {"flat_out": flat, "at_half": half}


def measure_ingest(spark: Spark, sizes: Sizes) -> dict[str, Run]:
    """Each endpoint flat out (closed loop), then both at half the webhook's throughput."""
    users = [f"ingest-user-{n}" for n in range(1000)]
    counter = iter(range(10**9))
    makers = {"bare": spark.bare, "webhook": spark.submission}

    def next_of(name: str) -> Callable[[], bytes]:
        def make() -> bytes:
            i = next(counter)
            return makers[name](users[i % len(users)], i)

        return make

    runs = {}
    for name in makers:
        runs[name] = asyncio.run(
            closed_loop(
                sizes.ingest_clients,
                sizes.ingest_seconds,
                next_of(name),
                spark.port,
                warmup=sizes.ingest_warmup_seconds,
            )
        )
    rate = max(len(runs["webhook"].latencies) / runs["webhook"].seconds / 2, 1.0)
    for name in makers:
        runs[f"{name}_at_half"] = asyncio.run(
            open_loop(sizes.ingest_clients, rate, sizes.ingest_seconds, next_of(name), spark.port)
        )
    return runs


# -- setting up ------------------------------------------------------------------------------


def set_up(config: HubConfig, simulator: Any) -> Spark:
    """The tenant, its Spark connection to the simulator, courses synced, learners signed in."""
    runtime = build_runtime(config.settings(), config.nats_url)
    try:
        runtime.hub.register_tenant(TENANT, "Bench School", runtime.box)
        made = connect_spark(
            runtime.hub,
            runtime.box,
            TENANT,
            simulator.url,
            allowed_evidence_hosts=["127.0.0.1"],
            webhook_limit_per_minute=10**9,
            api_key=simulator.api_key,
        )
        sync_tenant(runtime.hub, SparkClients(runtime.box), TENANT)
    finally:
        runtime.hub.close()
        NatsConnection.close_all()
    assignments = [
        (course["id"], a["id"])
        for course in simulator.state.catalogue
        for a in course["assignments"]
    ]
    return Spark(
        port=config.port,
        sso_secret=made.sso_secret,
        webhook_secret=made.webhook_secret,
        file_url=simulator.file_url("essay.pdf"),
        assignments=assignments,
    )


def sign_in(spark: Spark, users: list[str]) -> None:
    async def one(connection: Connection, i: int) -> int:
        status, _ = await connection.send(spark.sso(users[i]))
        return status

    run = asyncio.run(fixed_count(4, len(users), one, spark.port))
    if set(run.statuses) != {303}:
        raise RuntimeError(f"signing the bench's learners in failed: {run.statuses}")


# -- reporting -------------------------------------------------------------------------------


def verdict(results: dict[str, Any]) -> dict[str, Any]:
    bare, webhook = results["ingest"]["bare"], results["ingest"]["webhook"]
    ratio = webhook["per_second"] / bare["per_second"]
    return {
        "ingest_ratio": round(ratio, 3),
        "ingest_ratio_ok": ratio >= GOALS["ingest_ratio_min"],
        "ingest_p99_ok": results["ingest"]["webhook_at_half"]["p99_ms"]
        < GOALS["ingest_p99_ms_max"],
        "sso_p95_ok": results["sso_at_half"]["p95_ms"] < GOALS["sso_p95_ms_max"],
        "evidence_p95_ok": results["evidence"]["p95_ms"] < GOALS["evidence_p95_ms_max"],
        "all_ok_statuses": (
            set(results["sso"]["statuses"]) == set(results["sso_at_half"]["statuses"]) == {"303"}
            and all(set(run["statuses"]) == {"202"} for run in results["ingest"].values())
            and set(results["evidence"]["statuses"]) == {"200"}
        ),
    }


def table(results: dict[str, Any]) -> str:
    ingest = results["ingest"]
    half = f"{ingest['webhook_at_half']['per_second']:.0f}/s"
    rows = [
        ("bare endpoint (202, nothing done), flat out", ingest["bare"]),
        ("submission webhook, flat out", ingest["webhook"]),
        (f"bare endpoint at {half}", ingest["bare_at_half"]),
        (f"submission webhook at {half}", ingest["webhook_at_half"]),
        ("SSO (303), flat out", results["sso"]),
        (f"SSO (303) at {results['sso_at_half']['per_second']:.0f}/s", results["sso_at_half"]),
        ("submission -> evidence in portfolio", results["evidence"]),
    ]
    out = [
        "| workload | clients | requests | per second | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    clients = results["sizes"]
    concurrency = [clients["ingest_clients"]] * 4 + [
        clients["sso_clients"],
        clients["sso_clients"],
        clients["evidence_clients"],
    ]
    for (label, run), n in zip(rows, concurrency, strict=True):
        out.append(
            f"| {label} | {n} | {run['requests']} | {run['per_second']} | {run['p50_ms']} "
            f"| {run['p95_ms']} | {run['p99_ms']} | {run['max_ms']} |"
        )
    return "\n".join(out)


def goals_text(found: dict[str, Any], results: dict[str, Any]) -> str:
    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    webhook, half = results["ingest"]["webhook"], results["ingest"]["webhook_at_half"]
    return "\n".join(
        [
            f"- webhook/bare throughput ratio {found['ingest_ratio']} (goal >= 0.5): "
            f"{mark(found['ingest_ratio_ok'])}",
            f"- webhook p99 {half['p99_ms']} ms at half its throughput, 32 clients (goal < 25): "
            f"{mark(found['ingest_p99_ok'])}; flat out {webhook['p99_ms']} ms",
            f"- SSO p95 {results['sso_at_half']['p95_ms']} ms at half its throughput, "
            f"{results['sizes']['sso_clients']} clients (goal < 30): {mark(found['sso_p95_ok'])}; "
            f"flat out {results['sso']['p95_ms']} ms",
            f"- submission -> portfolio p95 {results['evidence']['p95_ms']} ms (goal < 1000): "
            f"{mark(found['evidence_p95_ok'])}",
            f"- every answer as expected: {mark(found['all_ok_statuses'])}",
        ]
    )


# -- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--database-url", help="read models (default: SQLite in a temp folder)")
    parser.add_argument("--log-level", default="INFO", help="the hub processes' log level")
    parser.add_argument("--ingest-seconds", type=float, help="measured seconds per endpoint")
    parser.add_argument(
        "--keep", type=Path, help="keep the data folder (logs: http.log, workers.log) here"
    )
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/...)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    if args.ingest_seconds:
        sizes = replace(sizes, ingest_seconds=args.ingest_seconds)

    load_before = list(os.getloadavg())
    with bench_hub(
        "bench-spark-",
        database_url=args.database_url,
        log_level=args.log_level,
        keep=args.keep,
    ) as config:
        engine = make_engine(config.database_url)
        try:
            with SparkSimulator(api_rate_limit=None) as simulator:
                spark = set_up(config, simulator)
                with running(config, serve_hub, run_workers) as (http, workers):
                    users = [f"learner-{n}" for n in range(max(sizes.evidence_clients * 2, 8))]
                    sign_in(spark, users)
                    print("submission -> evidence in the portfolio ...", flush=True)
                    samples: dict[str, list[float]] = {}
                    evidence = measure_evidence(spark, engine, sizes, users, samples)
                    evidence_hops = hops(config, samples)
                    stop_process(workers)
                    print("SSO ...", flush=True)
                    sso = measure_sso(spark, sizes)
                    print("ingest: bare endpoint, then the submission webhook ...", flush=True)
                    ingest = measure_ingest(spark, sizes)
                    stop_process(http)
        finally:
            engine.dispose()

    results: dict[str, Any] = {
        "benchmark": "spark",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "database": "postgresql" if args.database_url else "sqlite",
        "sizes": vars(sizes),
        "machine": machine(load_before),
        "ingest": {name: run.summary() for name, run in ingest.items()},
        "sso": sso["flat_out"].summary(),
        "sso_at_half": sso["at_half"].summary(),
        "evidence": {**evidence.summary(), "hops": evidence_hops},
        "goals": GOALS,
    }
    results["verdict"] = verdict(results)
    print()
    print(table(results))
    print()
    print(
        "submission -> portfolio, by hop (p50 / p95 ms): "
        + ", ".join(f"{hop} {v['p50_ms']} / {v['p95_ms']}" for hop, v in evidence_hops.items())
    )
    print()
    print(goals_text(results["verdict"], results))
    before, after = results["machine"]["loadavg_before_after"]
    print(f"load average before {before}, after {after} ({os.cpu_count()} CPUs)")
    write_results(results, args.output or results_path("spark", args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
