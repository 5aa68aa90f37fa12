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
import multiprocessing
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import Response  # noqa: E402

from connectors.course_sync import sync_tenant  # noqa: E402
from connectors.registry import start_connectors  # noqa: E402
from connectors.spark_api import SparkClients  # noqa: E402
from hub.bootstrap import build_runtime, eventsourcing_env  # noqa: E402
from hub.dev import (  # noqa: E402
    SparkSimulator,
    sso_token,
    submission_payload,
    url_file,
)
from hub.dev.spark_client import encode  # noqa: E402
from hub.domain.learners import learner_id  # noqa: E402
from hub.http.app import build_http_app  # noqa: E402
from hub.spark.connection import connect_spark  # noqa: E402
from infra.logging import configure_logging  # noqa: E402
from infra.nats_client import NatsConnection  # noqa: E402
from infra.nats_server import EmbeddedNatsServer  # noqa: E402
from infra.settings import Settings  # noqa: E402
from infra.sql import make_engine  # noqa: E402
from projections import projection_statuses  # noqa: E402
from projections.portfolio import portfolio  # noqa: E402
from projections.registry import start_projections  # noqa: E402
from projections.upstreams import open_readers  # noqa: E402

TENANT = "bench"
GOALS = {
    "ingest_ratio_min": 0.5,
    "ingest_p99_ms_max": 25.0,
    "sso_p95_ms_max": 30.0,
    "evidence_p95_ms_max": 1000.0,
}
_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")


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


# -- the processes -------------------------------------------------------------------------


@dataclass
class HubConfig:
    data_dir: str
    nats_url: str
    stream_prefix: str
    database_url: str
    port: int
    admin_token: str
    log_level: str

    def settings(self) -> Any:
        return Settings(
            data_dir=Path(self.data_dir),
            stream_prefix=self.stream_prefix,
            database_url=self.database_url,
            nats_url=self.nats_url,
            log_json=True,
            log_level=self.log_level,
            demo_tenant=None,
        )


def _quiet(config: HubConfig, name: str) -> None:
    """Logs of a child process go to a file in the data folder, not to the terminal."""
    os.environ["HUB_DATA_DIR"] = config.data_dir
    sys.stderr = sys.stdout = open(Path(config.data_dir) / f"{name}.log", "a")  # noqa: SIM115
    configure_logging(json=True, level=config.log_level)


def serve_hub(config: HubConfig) -> None:
    """The hub's HTTP app and the bare endpoint, until SIGTERM."""
    _quiet(config, "http")
    runtime = build_runtime(config.settings(), config.nats_url)
    app = build_http_app(
        runtime, admin_token=config.admin_token, projection_statuses=projection_statuses
    )

    @app.post("/bench/noop", status_code=202, include_in_schema=False)
    async def noop() -> Response:
        return Response(status_code=202)

    # Matched first: the bare endpoint pays the least routing of any route on the server
    # (the webhook's route is matched among the hub's others), so the ratio is not
    # flattered by a bare route at the end of the list.
    app.router.routes.insert(0, app.router.routes.pop())

    uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=config.port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
    ).run()


def run_workers(config: HubConfig) -> None:
    """Projections and connectors (`hub project` + `hub connect`), until SIGTERM."""
    _quiet(config, "workers")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    env = eventsourcing_env(config.settings(), config.nats_url)
    threads = start_projections(env, config.database_url, stop) + start_connectors(env, stop)
    stop.wait()
    for thread in threads:
        thread.join(timeout=15)


def start_process(target: Callable[[HubConfig], None], config: HubConfig) -> Any:
    process = multiprocessing.get_context("spawn").Process(
        target=target, args=(config,), daemon=True
    )
    process.start()
    return process


def stop_process(process: Any) -> None:
    if process.is_alive():
        process.terminate()
    process.join(timeout=30)
    if process.is_alive():
        process.kill()
        process.join(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the hub's HTTP server did not start")


# -- a small HTTP/1.1 client --------------------------------------------------------------


class Connection:
    """One keep-alive connection sending prepared requests (the server answers with a length)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        found = _LENGTH.search(head)
        if found is None:
            raise RuntimeError(f"no Content-Length in {head[:200]!r}")
        body = await self.reader.readexactly(int(found.group(1)))
        return int(head[9:12]), body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def http_request(
    method: str, path: str, port: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Run:
    """Latencies (seconds) and statuses of one measured phase."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, status: int, latency: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(latency)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "requests": len(ordered),
            "seconds": round(self.seconds, 3),
            "per_second": round(len(ordered) / self.seconds, 1) if self.seconds else None,
            "p50_ms": ms(percentile(ordered, 50)),
            "p95_ms": ms(percentile(ordered, 95)),
            "p99_ms": ms(percentile(ordered, 99)),
            "max_ms": ms(ordered[-1]) if ordered else None,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


def percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    rank = max(min(round(q / 100 * len(ordered) + 0.5) - 1, len(ordered) - 1), 0)
    return ordered[rank]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


async def closed_loop(
    clients: int, seconds: float, make: Callable[[], bytes], port: int, warmup: float = 0.0
) -> Run:
    """`clients` connections, each sending the next request as soon as it has the answer."""
    run = Run()
    started = time.perf_counter()
    measure_from = started + warmup
    end = measure_from + seconds

    async def client() -> None:
        connection = Connection(port)
        try:
            while (now := time.perf_counter()) < end:
                status, _ = await connection.send(make())
                done = time.perf_counter()
                if now >= measure_from:
                    run.add(status, done - now)
        finally:
            connection.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    run.seconds = time.perf_counter() - measure_from
    return run


async def open_loop(
    clients: int, rate: float, seconds: float, make: Callable[[], bytes], port: int
) -> Run:
    """`clients` connections sending `rate` requests a second in all, on a fixed schedule.

    A latency counts from when the request was due, not when it was sent: a late answer
    delays the connection's next request, and that wait is counted too (no coordinated
    omission).
    """
    run = Run()
    interval = clients / rate
    started = time.perf_counter() + 0.05
    end = started + seconds

    async def client(n: int) -> None:
        connection = Connection(port)
        due = started + n * interval / clients
        try:
            while due < end:
                await asyncio.sleep(max(due - time.perf_counter(), 0))
                status, _ = await connection.send(make())
                run.add(status, time.perf_counter() - due)
                due += interval
        finally:
            connection.close()

    await asyncio.gather(*(client(n) for n in range(clients)))
    run.seconds = seconds
    return run


async def fixed_count(
    clients: int, count: int, one: Callable[[Connection, int], Awaitable[int]], port: int
) -> Run:
    """`count` requests shared by `clients` connections; `one` sends request `i`."""
    run = Run()
    next_index = iter(range(count))

    async def client() -> None:
        connection = Connection(port)
        try:
            for i in next_index:
                begun = time.perf_counter()
                status = await one(connection, i)
                run.add(status, time.perf_counter() - begun)
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    run.seconds = time.perf_counter() - started
    return run


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


def machine(load_before: list[float]) -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


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
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as scratch:
        workdir = str(args.keep or scratch)
        Path(workdir).mkdir(parents=True, exist_ok=True)
        nats = EmbeddedNatsServer(Path(workdir) / "nats")
        nats.start()
        config = HubConfig(
            data_dir=workdir,
            nats_url=nats.url,
            stream_prefix="bench",
            database_url=args.database_url or f"sqlite:///{workdir}/hub.sqlite3",
            port=free_port(),
            admin_token=secrets.token_urlsafe(16),
            log_level=args.log_level,
        )
        processes = []
        engine = make_engine(config.database_url)
        try:
            with SparkSimulator(api_rate_limit=None) as simulator:
                spark = set_up(config, simulator)
                processes.append(http := start_process(serve_hub, config))
                processes.append(workers := start_process(run_workers, config))
                wait_ready(config.port)
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
            for process in processes:
                stop_process(process)
            engine.dispose()
            nats.stop()

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
    output = args.output or ROOT / "bench" / "results" / (
        f"spark-{dt.date.today().isoformat()}{'-quick' if args.quick else ''}.json"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
