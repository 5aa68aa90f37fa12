"""Event-store benchmark: the JetStream recorders beside eventsourcing's PostgreSQL and SQLite.

    .venv/bin/python bench/bench_store.py            # full run, a few minutes on 2 cores
    .venv/bin/python bench/bench_store.py --quick    # CI smoke, a few seconds per backend

Every backend gets the same workload through the library's factory
(`InfrastructureFactory.construct`): one-event commits with 1 and 8 writer threads
(new aggregates and appends to existing ones), a process-recorder commit with
tracking, an atomic 10-event commit, read-back of a 100-event aggregate, and replay of
the whole notification log through `subscribe()` and through `select_notifications()`.
Prints a Markdown table and writes JSON to bench/results/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import math
import os
import platform
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    StoredEvent,
    Tracking,
)
from eventsourcing.utils import Environment

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `infra` when run as a script from anywhere

from common import percentile, results_path, write_results  # noqa: E402

from infra.nats_client import NatsConnection  # noqa: E402
from infra.nats_server import EmbeddedNatsServer, bundled_binary, free_port  # noqa: E402

BACKENDS = ("jetstream", "jetstream-fsync", "postgres", "sqlite")
TOPIC = "hub.domain.scores:ScoreRecorded"
PAGE = 1000
BATCH = 1000
BIG_AGGREGATE_EVENTS = 100
REPLAY_TIMEOUT = 300.0

# Goals of the foundation issue.
GOAL_REPLAY_PER_S = 50_000
GOAL_P99_MS = 5.0


def _state() -> bytes:
    """A realistic ~400-byte event state: a score with its provenance, as JSON."""
    body = {
        "timestamp": "2025-03-14T09:26:53.589793+00:00",
        "tenant": "school-0042",
        "learner": "tenant-0042.Learner.6f1c9a2e4b7d4e0f9a8b7c6d5e4f3a2b",
        "activity": "tenant-0042.Activity.0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "score": {"raw": 17.5, "max": 20, "scaled": 0.875, "passed": True},
        "attempt": 3,
        "provenance": {
            "source": "lti-ags",
            "platform": "moodle-prod",
            "request_id": "3f9d2c1e-8b7a-4c6d-9e0f-a1b2c3d4e5f6",
            "received_at": "2025-03-14T09:26:53.512345+00:00",
        },
    }
    return json.dumps(body, separators=(",", ":")).encode()


STATE = _state()


@dataclass(frozen=True)
class Sizes:
    commits: int  # one-event commits per scenario with one writer
    commits_8: int  # one-event commits per scenario with 8 writers, in all
    aggregates_per_writer: int  # existing aggregates each writer appends to, round robin
    readback_runs: int
    replay_events: int
    process_commits: int
    batch_commits: int  # atomic 10-event commits
    warmup: int


FULL = Sizes(
    commits=3000,
    commits_8=8000,
    aggregates_per_writer=20,
    readback_runs=300,
    replay_events=100_000,
    process_commits=2000,
    batch_commits=500,
    warmup=300,
)
QUICK = Sizes(
    commits=200,
    commits_8=400,
    aggregates_per_writer=5,
    readback_runs=20,
    replay_events=5000,
    process_commits=100,
    batch_commits=30,
    warmup=20,
)


_tenants = itertools.count()


def new_id() -> str:
    """A hub aggregate id, `<tenant>.<Type>.<hex>` (a string id, as the hub's aggregates have)."""
    return f"school-{next(_tenants) % 20:04d}.Score.{uuid4().hex}"


def event(originator_id: str, version: int) -> StoredEvent:
    return StoredEvent(
        originator_id=originator_id, originator_version=version, topic=TOPIC, state=STATE
    )


# -- timing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommitStats:
    writers: int
    commits: int
    events_per_commit: int
    seconds: float
    commits_per_s: float
    events_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float


def commit_stats(
    latencies: list[float], wall: float, writers: int, events_per_commit: int = 1
) -> CommitStats:
    ordered = sorted(latencies)
    n = len(ordered)
    return CommitStats(
        writers=writers,
        commits=n,
        events_per_commit=events_per_commit,
        seconds=round(wall, 3),
        commits_per_s=round(n / wall, 1),
        events_per_s=round(n * events_per_commit / wall, 1),
        p50_ms=round((percentile(ordered, 50) or 0.0) * 1000, 3),
        p99_ms=round((percentile(ordered, 99) or 0.0) * 1000, 3),
        max_ms=round(ordered[-1] * 1000, 3),
    )


def run_writers(
    writers: int, per_writer: int, commit: Callable[[int, int], object], events_per_commit: int = 1
) -> CommitStats:
    """`writers` threads each call `commit(writer, i)` for i < per_writer, timed one by one."""
    latencies: list[list[float]] = [[] for _ in range(writers)]
    errors: list[Exception] = []
    barrier = threading.Barrier(writers + 1)

    def work(writer: int) -> None:
        clock = time.perf_counter
        mine = latencies[writer]
        barrier.wait()
        try:
            for i in range(per_writer):
                started = clock()
                commit(writer, i)
                mine.append(clock() - started)
        except Exception as error:  # noqa: BLE001 - re-raised by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(writers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    return commit_stats([x for part in latencies for x in part], wall, writers, events_per_commit)


# -- workloads -----------------------------------------------------------------------------


def new_aggregate_commits(recorder: ApplicationRecorder, writers: int, total: int) -> CommitStats:
    """One-event commits, each creating an aggregate (version 1)."""
    per_writer = total // writers
    ids = [[new_id() for _ in range(per_writer)] for _ in range(writers)]
    return run_writers(
        writers, per_writer, lambda w, i: recorder.insert_events([event(ids[w][i], 1)])
    )


def append_commits(
    recorder: ApplicationRecorder, writers: int, total: int, aggregates: int
) -> CommitStats:
    """One-event commits appending to existing aggregates, each writer on its own ones."""
    per_writer = total // writers
    ids = [[new_id() for _ in range(aggregates)] for _ in range(writers)]
    for own in ids:  # the aggregates exist before the clock starts
        for originator_id in own:
            recorder.insert_events([event(originator_id, 1)])

    def commit(writer: int, i: int) -> None:
        originator_id = ids[writer][i % aggregates]
        recorder.insert_events([event(originator_id, i // aggregates + 2)])

    return run_writers(writers, per_writer, commit)


def process_commits(recorder: ProcessRecorder, total: int) -> CommitStats:
    """One event with its tracking position, as a process application (one runner) commits."""
    ids = [new_id() for _ in range(total)]
    return run_writers(
        1,
        total,
        lambda _, i: recorder.insert_events(
            [event(ids[i], 1)], tracking=Tracking("upstream", i + 1)
        ),
    )


def atomic_commits(recorder: ApplicationRecorder, total: int, size: int = 10) -> CommitStats:
    """Atomic commits of `size` events of a new aggregate."""
    ids = [new_id() for _ in range(total)]
    return run_writers(
        1,
        total,
        lambda _, i: recorder.insert_events([event(ids[i], v) for v in range(1, size + 1)]),
        events_per_commit=size,
    )


def load_log(recorder: ApplicationRecorder, total: int, big_id: str) -> CommitStats:
    """`total` events in commits of up to 1000, aggregates of 10 events, the big aggregate's
    100 events spread over the commits (so reading it back skips through the whole log)."""
    commits = math.ceil(total / BATCH)
    big_per_commit = math.ceil(BIG_AGGREGATE_EVENTS / commits)
    batches: list[list[StoredEvent]] = []
    big_version = 0
    remaining = total
    for _ in range(commits):
        size = min(BATCH, remaining)
        remaining -= size
        big = min(big_per_commit, BIG_AGGREGATE_EVENTS - big_version, size)
        batch = [event(big_id, big_version + v) for v in range(1, big + 1)]
        big_version += big
        filler = size - big
        for start in range(0, filler, 10):
            originator_id = new_id()
            batch.extend(event(originator_id, v) for v in range(1, min(10, filler - start) + 1))
        batches.append(batch)
    return run_writers(
        1, len(batches), lambda _, i: recorder.insert_events(batches[i]), events_per_commit=BATCH
    )


def read_back(recorder: ApplicationRecorder, originator_id: str, runs: int) -> dict[str, float]:
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        events = recorder.select_events(originator_id)
        durations.append(time.perf_counter() - started)
        if len(events) != BIG_AGGREGATE_EVENTS:
            msg = f"read back {len(events)} events, not {BIG_AGGREGATE_EVENTS}"
            raise AssertionError(msg)
    ordered = sorted(durations)
    return {
        "runs": runs,
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round((percentile(ordered, 99) or 0.0) * 1000, 3),
    }


def replay_subscribe(
    recorder: ApplicationRecorder, last_id: int, expected: int
) -> dict[str, Any] | None:
    """Every notification through `subscribe(gt=0)`, until the last id; None if unsupported."""
    started = time.perf_counter()
    try:
        subscription = recorder.subscribe(gt=0)
    except NotImplementedError:
        return None
    watchdog = threading.Timer(REPLAY_TIMEOUT, subscription.stop)
    watchdog.start()
    count = 0
    try:
        with subscription:
            for notification in subscription:
                count += 1
                if notification.id >= last_id:
                    break
    finally:
        watchdog.cancel()
    elapsed = time.perf_counter() - started
    return replay_result(count, expected, elapsed)


def replay_pages(recorder: ApplicationRecorder, last_id: int, expected: int) -> dict[str, Any]:
    """Every notification through `select_notifications` in pages of 1000."""
    started = time.perf_counter()
    count = 0
    start = 1
    for _ in range(expected // PAGE + 10):
        page = recorder.select_notifications(start, PAGE)
        if not page:
            break
        count += len(page)
        start = page[-1].id + 1
        if page[-1].id >= last_id:
            break
    elapsed = time.perf_counter() - started
    return replay_result(count, expected, elapsed)


def replay_result(count: int, expected: int, elapsed: float) -> dict[str, Any]:
    if count != expected:
        msg = f"replay saw {count} notifications, not {expected}"
        raise AssertionError(msg)
    return {
        "notifications": count,
        "seconds": round(elapsed, 3),
        "per_s": round(count / elapsed, 1),
    }


def measure(
    factory: InfrastructureFactory[Any],
    process_factory: InfrastructureFactory[Any],
    sizes: Sizes,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """The whole workload on one backend."""
    recorder = factory.application_recorder()
    out: dict[str, Any] = {}
    new_aggregate_commits(recorder, 1, sizes.warmup)  # connections, pools, caches
    for writers, total in ((1, sizes.commits), (8, sizes.commits_8)):
        log(f"  {writers} writer(s): new aggregates")
        out[f"commit_new_{writers}w"] = asdict(new_aggregate_commits(recorder, writers, total))
        log(f"  {writers} writer(s): appends")
        out[f"commit_append_{writers}w"] = asdict(
            append_commits(recorder, writers, total, sizes.aggregates_per_writer)
        )
    log("  process commit with tracking")
    out["commit_tracked_1w"] = asdict(
        process_commits(process_factory.process_recorder(), sizes.process_commits)
    )
    log("  atomic 10-event commits")
    out["commit_atomic10_1w"] = asdict(atomic_commits(recorder, sizes.batch_commits))
    log(f"  loading {sizes.replay_events} events for replay")
    big_id = new_id()
    out["load_1000"] = asdict(load_log(recorder, sizes.replay_events, big_id))
    out["readback_100"] = read_back(recorder, big_id, sizes.readback_runs)
    last_id = recorder.max_notification_id()
    assert last_id is not None
    expected = expected_notifications(sizes)
    log(f"  replay of {expected} notifications")
    out["replay_subscribe"] = replay_subscribe(recorder, last_id, expected)
    out["replay_pages"] = replay_pages(recorder, last_id, expected)
    return out


def expected_notifications(sizes: Sizes) -> int:
    """Events in the application's log once the workload ran (the tracked ones are elsewhere)."""
    appended = 0
    for writers, total in ((1, sizes.commits), (8, sizes.commits_8)):
        per_writer = total // writers
        appended += 2 * per_writer * writers + writers * sizes.aggregates_per_writer
    return sizes.warmup + appended + 10 * sizes.batch_commits + sizes.replay_events


# -- backends ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PgSettings:
    host: str
    port: int
    dbname: str
    user: str
    password: str

    def conninfo(self) -> str:
        return (
            f"host={self.host} port={self.port} dbname={self.dbname} user={self.user} "
            f"password={self.password}"
        )


class FsyncNatsServer(EmbeddedNatsServer):
    """The bundled nats-server with `sync_interval: always`: every write is fsynced before
    it is acknowledged, as PostgreSQL and SQLite do for a commit (by default JetStream
    syncs every 2 minutes). `EmbeddedNatsServer` takes no configuration file, hence this."""

    def start(self, timeout: float = 10.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "nats.conf"
        config.write_text(
            f"listen: 127.0.0.1:{self.port}\n"
            f"jetstream {{ store_dir: {json.dumps(str(self.data_dir))}, "
            "sync_interval: always }\n"
        )
        with (self.data_dir / "nats-server.stderr").open("wb") as stderr:
            self.process = subprocess.Popen(
                [
                    str(bundled_binary()),
                    "-c",
                    str(config),
                    "-l",
                    str(self.data_dir / "nats-server.log"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        self.stop()
        msg = f"nats-server with {config} did not start"
        raise RuntimeError(msg)


@contextlib.contextmanager
def jetstream_backend(
    workdir: Path, info: dict[str, Any], *, fsync: bool = False
) -> Iterator[dict[str, str]]:
    """A fresh bundled nats-server with file storage in a temp dir."""
    server_class = FsyncNatsServer if fsync else EmbeddedNatsServer
    server = server_class(workdir / "nats", port=free_port())
    server.start()
    try:
        yield {
            "PERSISTENCE_MODULE": "infra.jetstream",
            "NATS_URL": server.url,
            "NATS_STREAM_PREFIX": "bench",
        }
        if server.process is not None:
            info["server_rss_mb"] = process_rss_mb(server.process.pid)
    finally:
        NatsConnection.close_all()
        server.stop()


@contextlib.contextmanager
def postgres_backend(pg: PgSettings) -> Iterator[dict[str, str]]:
    """Fresh tables in a schema of their own, dropped afterwards."""
    import psycopg  # noqa: PLC0415 - only this backend needs it
    from psycopg import sql  # noqa: PLC0415

    schema = "bench_" + secrets.token_hex(4)
    drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
    with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": pg.dbname,
            "POSTGRES_HOST": pg.host,
            "POSTGRES_PORT": str(pg.port),
            "POSTGRES_USER": pg.user,
            "POSTGRES_PASSWORD": pg.password,
            "POSTGRES_SCHEMA": schema,
            "POSTGRES_POOL_SIZE": "10",
            "ORIGINATOR_ID_TYPE": "text",
        }
    finally:
        with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
            conn.execute(drop)


@contextlib.contextmanager
def sqlite_backend(workdir: Path) -> Iterator[dict[str, str]]:
    """Temp files; the process application gets its own (the factory ignores the app name)."""
    yield {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "ORIGINATOR_ID_TYPE": "text",
        "SQLITE_DBNAME": str(workdir / "bench.sqlite3"),
        "BENCHPROC_SQLITE_DBNAME": str(workdir / "benchproc.sqlite3"),
    }


def backend_env(
    name: str, workdir: Path, pg: PgSettings, info: dict[str, Any]
) -> contextlib.AbstractContextManager[dict[str, str]]:
    if name.startswith("jetstream"):
        return jetstream_backend(workdir, info, fsync=name == "jetstream-fsync")
    if name == "postgres":
        return postgres_backend(pg)
    return sqlite_backend(workdir)


def run_backend(name: str, pg: PgSettings, sizes: Sizes) -> dict[str, Any]:
    def log(line: str) -> None:
        print(f"[{name}] {line.strip()}", file=sys.stderr, flush=True)

    log("start")
    info: dict[str, Any] = {}
    load_before = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp,
        backend_env(name, Path(tmp), pg, info) as env,
    ):
        factory = InfrastructureFactory.construct(Environment("bench", env))
        process_factory = InfrastructureFactory.construct(Environment("benchproc", env))
        try:
            results = measure(factory, process_factory, sizes, log)
        finally:
            process_factory.close()
            factory.close()
    results.update(info)
    # Other work on the machine skews the figures: the 1-minute load average, before and after.
    results["loadavg_before_after"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return results


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Field by field, the median of several rounds' results (lists: one per round)."""
    first = runs[0]
    out: dict[str, Any] = {}
    for key, value in first.items():
        values = [run[key] for run in runs]
        if isinstance(value, dict):
            out[key] = median_of(values)
        elif (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and all(isinstance(v, int | float) for v in values)
        ):
            middle = statistics.median(values)
            whole = all(isinstance(v, int) for v in values) and middle == int(middle)
            out[key] = int(middle) if whole else round(middle, 3)
        elif isinstance(value, list) and len(runs) > 1:
            out[key] = values
        else:
            out[key] = value
    return out


# -- the machine ---------------------------------------------------------------------------


def process_rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def memory_gb() -> float | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def nats_server_version() -> str:
    out = subprocess.run(
        [str(bundled_binary()), "--version"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return out.stdout.strip() or out.stderr.strip()


def postgres_info(pg: PgSettings) -> dict[str, str]:
    try:
        import psycopg  # noqa: PLC0415
    except ImportError:
        return {"error": "psycopg is not installed"}
    try:
        with psycopg.connect(pg.conninfo(), connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT version(), current_setting('synchronous_commit'), current_setting('fsync')"
            ).fetchone()
    except psycopg.Error as error:
        return {"error": str(error).strip()}
    assert row is not None
    return {"version": row[0], "synchronous_commit": row[1], "fsync": row[2]}


def git_state() -> dict[str, Any]:
    """The commit measured, and whether infra/ had uncommitted changes."""

    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10, check=False
        )
        return out.stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "infra_uncommitted": bool(git("status", "--porcelain", "--", "infra")),
    }


def machine(pg: PgSettings, backends: list[str]) -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gb": memory_gb(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "eventsourcing": package_version("eventsourcing"),
        "nats-py": package_version("nats-py"),
        "sqlite": sqlite3.sqlite_version,
        "git": git_state(),
    }
    if "jetstream" in backends:
        info["nats_server"] = nats_server_version()
    if "postgres" in backends:
        info["postgres"] = postgres_info(pg)
    return info


# -- report --------------------------------------------------------------------------------

COMMIT_ROWS = [
    ("commit_new_1w", "1 writer, new aggregate"),
    ("commit_append_1w", "1 writer, append"),
    ("commit_new_8w", "8 writers, new aggregate"),
    ("commit_append_8w", "8 writers, append"),
    ("commit_tracked_1w", "process commit + tracking, 1 writer"),
    ("commit_atomic10_1w", "atomic 10-event commit, 1 writer"),
]


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def table(results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    lines = ["| measure | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]

    def row(label: str, cells: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    runs = [results[n] for n in names]
    for key, label in COMMIT_ROWS:
        row(f"{label}: commits/s", [_fmt(r[key]["commits_per_s"]) for r in runs])
        row(
            f"{label}: p50 / p99 ms",
            [f"{_fmt(r[key]['p50_ms'], 2)} / {_fmt(r[key]['p99_ms'], 2)}" for r in runs],
        )
    row("load, 1000-event commits: events/s", [_fmt(r["load_1000"]["events_per_s"]) for r in runs])
    row(
        "read-back of a 100-event aggregate: median ms",
        [_fmt(r["readback_100"]["median_ms"], 2) for r in runs],
    )
    row(
        "replay, subscribe(gt=0): notifications/s",
        [_fmt((r["replay_subscribe"] or {}).get("per_s")) for r in runs],
    )
    row(
        "replay, select_notifications by 1000: notifications/s",
        [_fmt(r["replay_pages"]["per_s"]) for r in runs],
    )
    return "\n".join(lines)


def goals(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The issue's goals for the JetStream recorder."""
    js = results.get("jetstream")
    if js is None:
        return {}
    one_event = [k for k, _ in COMMIT_ROWS[:4]]
    out: dict[str, Any] = {
        "p99_under_5ms": {k: js[k]["p99_ms"] < GOAL_P99_MS for k in one_event},
        "replay_50k_per_s": (js["replay_subscribe"] or {}).get("per_s", 0) >= GOAL_REPLAY_PER_S,
    }
    pg = results.get("postgres")
    if pg is not None:
        out["commits_at_least_postgres"] = {
            k: js[k]["commits_per_s"] >= pg[k]["commits_per_s"] for k in one_event
        }
        synced = results.get("jetstream-fsync")
        if synced is not None:  # for information: the same durability as PostgreSQL's
            out["fsync_commits_at_least_postgres"] = {
                k: synced[k]["commits_per_s"] >= pg[k]["commits_per_s"] for k in one_event
            }
    return out


def goals_text(verdict: dict[str, Any]) -> str:
    def mark(ok: bool) -> str:
        return "met" if ok else "MISSED"

    lines = []
    if "commits_at_least_postgres" in verdict:
        for key, ok in verdict["commits_at_least_postgres"].items():
            lines.append(f"- commit throughput >= PostgreSQL, {key}: {mark(ok)}")
    for key, ok in verdict.get("fsync_commits_at_least_postgres", {}).items():
        lines.append(
            f"- (information) jetstream-fsync commit throughput >= PostgreSQL, {key}: "
            f"{'yes' if ok else 'no'}"
        )
    if "replay_50k_per_s" in verdict:
        lines.append(f"- replay >= 50,000 notifications/s: {mark(verdict['replay_50k_per_s'])}")
    for key, ok in verdict.get("p99_under_5ms", {}).items():
        lines.append(f"- p99 commit latency < 5 ms, {key}: {mark(ok)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a CI smoke run")
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="comma-separated subset of " + ", ".join(BACKENDS),
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every backend this many times, interleaved; report medians",
    )
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/...)")
    parser.add_argument("--pg-host", default=os.environ.get("BENCH_PG_HOST", "127.0.0.1"))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("BENCH_PG_PORT", "5432")))
    parser.add_argument("--pg-db", default=os.environ.get("BENCH_PG_DB", "test"))
    parser.add_argument("--pg-user", default=os.environ.get("BENCH_PG_USER", "postgres"))
    parser.add_argument("--pg-password", default=os.environ.get("BENCH_PG_PASSWORD", ""))
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    sizes = QUICK if args.quick else FULL
    pg = PgSettings(args.pg_host, args.pg_port, args.pg_db, args.pg_user, args.pg_password)

    info = machine(pg, backends)
    started = time.perf_counter()
    load_before = os.getloadavg()
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in backends}
    for number in range(args.rounds):
        for name in backends:  # interleaved, so that a busy spell hits every backend
            print(f"round {number + 1} of {args.rounds}", file=sys.stderr)
            rounds[name].append(run_backend(name, pg, sizes))
    results = {name: median_of(runs) for name, runs in rounds.items()}
    verdict = goals(results)
    now = dt.datetime.now(dt.UTC)
    info["loadavg_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    report: dict[str, Any] = {
        "date": now.isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "seconds": round(time.perf_counter() - started, 1),
        "sizes": asdict(sizes),
        "machine": info,
        "rounds": args.rounds,
        "results": results,
        "goals": verdict,
    }
    if args.rounds > 1:
        report["each_round"] = rounds
    output = write_results(report, args.output or results_path("store", args.quick))

    print(table(results))
    if verdict:
        print()
        print(goals_text(verdict))
    print(f"\n{report['mode']} run in {report['seconds']} s; JSON: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
