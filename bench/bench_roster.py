"""Roster figures (issue 6): a generated OneRoster 1.2 bundle, dry run, commit, unchanged re-import.

    .venv/bin/python bench/bench_roster.py            # 100,000 users, 1,000,000 enrolments
    .venv/bin/python bench/bench_roster.py --quick    # smoke run: 2,000 users, 20,000 enrolments

The bundle is generated streaming into a zip (schools, a term, courses, classes of
about 100 students, a teacher per class, a parent for every tenth student). Then,
each import in a process of its own (as `hub roster import` runs), so that its peak
memory (ru_maxrss) is its own:

  1. dry run: every row checked and diffed against the (empty) roster; nothing recorded;
  2. commit: the same, recording `RosterImport.RecordsApplied` batches of 500 records,
     one event each (one JetStream message per batch, not per row);
  3. the roster projection catches up (`hub project`'s work, timed on its own);
  4. re-import of the unchanged bundle: every row checksummed and found unchanged,
     nothing recorded (the log's head is checked before and after).

Prints a Markdown table and writes JSON to bench/results/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hub.bootstrap import build_runtime, eventsourcing_env  # noqa: E402
from hub.domain.base import EventContext  # noqa: E402
from hub.roster.commands import import_roster  # noqa: E402
from hub.roster.log import Rosters  # noqa: E402
from infra.logging import configure_logging  # noqa: E402
from infra.nats_client import NatsConnection  # noqa: E402
from infra.nats_server import EmbeddedNatsServer  # noqa: E402
from infra.settings import Settings  # noqa: E402
from infra.sql import make_engine  # noqa: E402
from projections import run_projection  # noqa: E402
from projections.roster import SqlRosterReadModel, wait_for  # noqa: E402
from schemas.oneroster import FILES  # noqa: E402

TENANT = "bench-school"
PROJECTION_PAGE = 10
GOALS = {
    "dry_run_s_max": 60,
    "commit_rows_per_s_min": 20_000,
    "reimport_s_max": 30,
    "peak_mb_max": 500,
}


@dataclass(frozen=True)
class Sizes:
    users: int = 100_000
    enrolments: int = 1_000_000
    class_size: int = 100
    schools: int = 20


QUICK = Sizes(users=2_000, enrolments=20_000, class_size=50, schools=2)


def _writer(bundle: zipfile.ZipFile, name: str) -> tuple[Any, Any]:
    raw = bundle.open(f"{name}.csv", "w", force_zip64=True)
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(FILES[name].header)
    return text, writer


def _rows(name: str, rows: Any) -> Any:
    header = FILES[name].header
    for row in rows:
        yield [row.get(column, "") for column in header]


def generate(path: Path, sizes: Sizes) -> int:
    """Write the bundle; the number of data rows."""
    classes = max(sizes.enrolments // sizes.class_size, 1)
    schools = [f"org-{n}" for n in range(sizes.schools)]
    files: dict[str, Any] = {
        "orgs": ({"sourcedId": s, "name": f"School {s}", "type": "school"} for s in schools),
        "academicSessions": iter(
            [
                {
                    "sourcedId": "term-1",
                    "title": "Autumn",
                    "type": "term",
                    "startDate": "2025-09-01",
                    "endDate": "2025-12-19",
                    "schoolYear": "2026",
                }
            ]
        ),
        "users": (
            {
                "sourcedId": f"u-{n}",
                "enabledUser": "true",
                "username": f"user{n}",
                "givenName": f"Given{n}",
                "familyName": f"Family{n % 997}",
                "email": f"user{n}@school.example",
                "agentSourcedIds": f"u-{n + 1}" if n % 10 == 0 and n + 1 < sizes.users else "",
                "primaryOrgSourcedId": schools[n % len(schools)],
            }
            for n in range(sizes.users)
        ),
        "courses": (
            {
                "sourcedId": f"course-{n}",
                "title": f"Course {n}",
                "orgSourcedId": schools[n % len(schools)],
            }
            for n in range(max(classes // 10, 1))
        ),
        "classes": (
            {
                "sourcedId": f"class-{n}",
                "title": f"Class {n}",
                "courseSourcedId": f"course-{n % max(classes // 10, 1)}",
                "classType": "scheduled",
                "schoolSourcedId": schools[n % len(schools)],
                "termSourcedIds": "term-1",
            }
            for n in range(classes)
        ),
        "enrollments": (
            {
                "sourcedId": f"e-{n}",
                "classSourcedId": f"class-{n % classes}",
                "schoolSourcedId": schools[(n % classes) % len(schools)],
                "userSourcedId": f"u-{(n * 7919) % sizes.users}",
                "role": "teacher" if n < classes else "student",
                "primary": "true",
            }
            for n in range(sizes.enrolments)
        ),
    }
    count = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bundle:
        manifest = io.StringIO()
        rows = [
            ["propertyName", "value"],
            ["manifest.version", "1.0"],
            ["oneroster.version", "1.2"],
        ]
        rows += [[f"file.{n}", "bulk" if n in files else "absent"] for n in FILES]
        csv.writer(manifest, lineterminator="\r\n").writerows(rows)
        bundle.writestr("manifest.csv", manifest.getvalue())
        for name, records in files.items():
            text, writer = _writer(bundle, name)
            for row in _rows(name, records):
                writer.writerow(row)
                count += 1
            text.close()
    return count


def _phase(
    env: dict[str, str], settings_dir: str, db_url: str, bundle: str, dry_run: bool, out: Any
) -> None:
    """One import in this (child) process: its time, stats and peak memory."""
    configure_logging(json=True, level="WARNING")
    rosters = Rosters(env=env)
    engine = make_engine(db_url)
    model = SqlRosterReadModel(engine)
    head_before = rosters.recorder.max_notification_id() or 0
    context = EventContext(correlation_id="bench", causation_id="bench", source="oneroster-csv")
    started = time.perf_counter()
    cpu_before = time.process_time()
    report = import_roster(
        rosters,
        Path(bundle),
        tenant=TENANT,
        state=model,
        wait_for=lambda p: wait_for(engine, p, 600),
        dry_run=dry_run,
        context=context,
    )
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    head_after = rosters.recorder.max_notification_id() or 0
    rows = sum(
        s.creates + s.updates + s.deletes + s.unchanged + s.rejected for s in report.stats.values()
    )
    out.put(
        {
            "seconds": round(seconds, 2),
            "rows": rows,
            "rows_per_s": round(rows / seconds),
            "cpu_s": round(cpu, 2),
            "rows_per_cpu_s": round(rows / cpu),
            "changes": sum(s.changes for s in report.stats.values()),
            "rejected": sum(s.rejected for s in report.stats.values()),
            "events": head_after - head_before,
            "position": report.position,
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    )
    rosters.close()
    engine.dispose()
    NatsConnection.close_all()


def run_phase(
    env: dict[str, str], workdir: str, db_url: str, bundle: Path, dry_run: bool
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    process = context.Process(target=_phase, args=(env, workdir, db_url, str(bundle), dry_run, out))
    process.start()
    found: dict[str, Any] = out.get(timeout=3600)
    process.join()
    return found


def catch_up(env: dict[str, str], db_url: str, position: int) -> float:
    stop = threading.Event()
    engine = make_engine(db_url)
    started = time.perf_counter()
    # Small pages: a roster batch holds 500 records, so the runner's default page of
    # 1,000 events would be one 500,000-row transaction, longer than its lease.
    thread = threading.Thread(
        target=run_projection,
        args=("roster", env, db_url, stop),
        kwargs={"page_size": PROJECTION_PAGE},
        daemon=True,
    )
    thread.start()
    wait_for(engine, position, timeout=3600)
    seconds = time.perf_counter() - started
    stop.set()
    thread.join(timeout=60)
    engine.dispose()
    return round(seconds, 2)


def verdict(results: dict[str, Any]) -> dict[str, bool]:
    phases = (results["dry_run"], results["commit"], results["reimport"])
    return {
        "dry_run_ok": results["dry_run"]["seconds"] < GOALS["dry_run_s_max"],
        "commit_ok": results["commit"]["rows_per_s"] >= GOALS["commit_rows_per_s_min"],
        "reimport_ok": results["reimport"]["seconds"] < GOALS["reimport_s_max"]
        and results["reimport"]["events"] == 0,
        "memory_ok": all(p["peak_mb"] < GOALS["peak_mb_max"] for p in phases),
        "dry_run_recorded_nothing": results["dry_run"]["events"] == 0,
    }


def table(results: dict[str, Any]) -> str:
    lines = [
        "| phase | rows | seconds | rows/s | CPU s | rows per CPU s | events | peak MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in ("dry_run", "commit", "reimport"):
        p = results[name]
        lines.append(
            f"| {name} | {p['rows']:,} | {p['seconds']} | {p['rows_per_s']:,} | {p['cpu_s']} | "
            f"{p['rows_per_cpu_s']:,} | {p['events']:,} | {p['peak_mb']} |"
        )
    changes = results["commit"]["changes"]
    lines.append(
        f"| projection catch-up | {changes:,} | {results['projection_s']} | "
        f"{round(changes / results['projection_s']):,} | - | - | - | - |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument(
        "--database-url", help="read-model database (default: SQLite in a temporary folder)"
    )
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/...)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    configure_logging(json=True, level="WARNING")
    with tempfile.TemporaryDirectory(prefix="bench-roster-") as workdir:
        nats = EmbeddedNatsServer(Path(workdir) / "nats")
        nats.start()
        try:
            db_url = args.database_url or f"sqlite:///{workdir}/roster.sqlite3"
            settings = Settings(data_dir=Path(workdir), stream_prefix="benchroster")
            runtime = build_runtime(settings, nats.url)
            runtime.hub.register_tenant(TENANT, "Bench School", runtime.box)
            env = eventsourcing_env(settings, nats.url)
            bundle = Path(workdir) / "bundle.zip"
            started = time.perf_counter()
            rows = generate(bundle, sizes)
            results: dict[str, Any] = {
                "sizes": asdict(sizes),
                "bundle": {
                    "rows": rows,
                    "bytes": bundle.stat().st_size,
                    "generated_s": round(time.perf_counter() - started, 2),
                },
            }
            print(f"bundle: {results['bundle']}", flush=True)
            results["dry_run"] = run_phase(env, workdir, db_url, bundle, dry_run=True)
            print(f"dry run: {results['dry_run']}", flush=True)
            results["commit"] = run_phase(env, workdir, db_url, bundle, dry_run=False)
            print(f"commit: {results['commit']}", flush=True)
            results["projection_s"] = catch_up(env, db_url, results["commit"]["position"])
            print(f"projection: {results['projection_s']} s", flush=True)
            results["reimport"] = run_phase(env, workdir, db_url, bundle, dry_run=False)
            runtime.hub.close()
        finally:
            NatsConnection.close_all()
            nats.stop()
    results["verdict"] = verdict(results)
    results["goals"] = GOALS
    results["machine"] = {
        "python": platform.python_version(),
        "cpus": multiprocessing.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(table(results))
    print(json.dumps(results["verdict"], indent=1))
    if not args.quick:
        output = args.output or ROOT / "bench" / "results" / f"roster-{dt.date.today()}.json"
        output.write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {output}")
    return 0 if all(results["verdict"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
