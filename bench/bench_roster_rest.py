"""OneRoster REST publisher figures (issue 6 follow-up): a page of `enrollments` out of
1,000,000, filtered and sorted in Python over the whole collection (the fallback, and
what every query did before) against SQL with LIMIT/OFFSET.

    .venv/bin/python bench/bench_roster_rest.py                      # SQLite, 1,000,000 rows
    .venv/bin/python bench/bench_roster_rest.py --rows 20000         # smoke run
    .venv/bin/python bench/bench_roster_rest.py --database-url postgresql://...   # a fresh DB

The enrolments are written straight into the roster read model's tables (as the roster
projection writes them: fields as JSON, references and role in their columns, 1 in 20 a
teacher, half with a dateLastModified). Each query is what `GET .../enrollments` runs,
without HTTP: the Python path once (it reads and converts the whole collection), the
SQL path the median of 5. Prints a Markdown table and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, insert  # noqa: E402

from hub.roster.rest_model import FIELDS, Resource  # noqa: E402
from hub.roster.rest_query import matches, parse_filter, sort, sql_plan  # noqa: E402
from hub.roster.rest_routes import load_resources, sql_page  # noqa: E402
from infra.sql import make_engine, writing  # noqa: E402
from projections import schema  # noqa: E402
from projections.roster import SqlRosterReadModel  # noqa: E402
from projections.roster_view import NAME, RosterView  # noqa: E402

TENANT = "bench-district"
LIMIT = 100
CHUNK = 20_000
QUERIES: list[tuple[str, str | None, str | None, str | None, str]] = [
    # (label, filter, sort, orderBy, where the page is: "first" or "middle")
    ("no filter, first page", None, None, None, "first"),
    ("no filter, the middle page (offset rows/2)", None, None, None, "middle"),
    ("sort=sourcedId desc", None, "sourcedId", "desc", "first"),
    ("filter role='teacher'", "role='teacher'", None, None, "first"),
    (
        "filter status='active' AND dateLastModified>'2025-10-15'",
        "status='active' AND dateLastModified>'2025-10-15'",
        None,
        None,
        "first",
    ),
    ("filter sourcedId>='e-0900000'", "sourcedId>='e-0900000'", None, None, "first"),
]


def fill(engine: Engine, rows: int) -> None:
    """`rows` enrolments of one tenant in the live roster tables."""
    view = RosterView(engine, 1)
    view.create_tables()
    with writing(engine) as conn:
        schema.register(conn, NAME, 1)
    for start in range(0, rows, CHUNK):
        batch = [_record(n) for n in range(start, min(start + CHUNK, rows))]
        with writing(engine) as conn:
            conn.execute(insert(view.records), batch)


def _record(n: int) -> dict[str, Any]:
    teacher = n % 20 == 0
    fields = {
        "classSourcedId": f"class-{n // 100:05}",
        "schoolSourcedId": f"org-{n % 20:02}",
        "userSourcedId": f"u-{n:07}",
        "role": "teacher" if teacher else "student",
        "primary": "true" if teacher else "false",
    }
    if n % 2:
        fields |= {"status": "active", "dateLastModified": f"2025-10-{n % 28 + 1:02}T08:00:00Z"}
    return {
        "tenant": TENANT,
        "system": "sis",
        "entity": "enrollments",
        "sourced_id": f"e-{n:07}",
        "hub_id": f"hub-{n}",
        "key": n,
        "checksum": n,
        "fields": json.dumps(fields, separators=(",", ":")),
        "class_ref": fields["classSourcedId"],
        "user_ref": fields["userSourcedId"],
        "role": fields["role"],
        "org_ref": fields["schoolSourcedId"],
        "import_id": "bench",
        "recorded_at": "2025-09-01T00:00:00+00:00",
    }


def python_page(
    model: SqlRosterReadModel, text: str | None, field: str | None, order: str | None, offset: int
) -> tuple[int, list[Resource]]:
    """What the publisher did for every query before, and still does for the rest."""
    known = FIELDS["enrollments"]
    where = parse_filter(text, known)
    rows = load_resources(model, TENANT, "enrollments")
    found = sort([r for r in rows if matches(r, where)], field, order, known)
    return len(found), found[offset : offset + LIMIT]


def timed(
    run: Callable[[], tuple[int, list[Resource]]], times: int
) -> tuple[float, int, list[str]]:
    seconds = []
    for _ in range(times):
        began = time.perf_counter()
        total, page = run()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds), total, [r["sourcedId"] for r in page]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="an empty database (default: a SQLite file)")
    parser.add_argument("--skip-python", action="store_true", help="time the SQL path only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'roster.sqlite3'}"
        engine = make_engine(url)
        began = time.perf_counter()
        fill(engine, args.rows)
        print(f"filled {args.rows:,} enrolments in {time.perf_counter() - began:.1f} s")
        model = SqlRosterReadModel(engine)
        results = []
        for label, text, field, order, at in QUERIES:
            offset = args.rows // 2 if at == "middle" else 0
            plan = sql_plan("enrollments", parse_filter(text, FIELDS["enrollments"]), field, order)
            assert plan is not None, label
            sql = timed(
                lambda p=plan, o=offset: sql_page(
                    model, TENANT, "enrollments", p, offset=o, limit=LIMIT
                ),
                5,
            )
            python = None
            if not args.skip_python:
                python = timed(
                    lambda t=text, f=field, o=order, s=offset: python_page(model, t, f, o, s), 1
                )
                assert python[1:] == sql[1:], label  # the same page either way
            results.append(
                {
                    "query": label,
                    "total": sql[1],
                    "sql_ms": round(sql[0] * 1000, 1),
                    "python_ms": None if python is None else round(python[0] * 1000, 1),
                }
            )
            print(results[-1], flush=True)
        engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    dialect = url.split(":", 1)[0].split("+", 1)[0]
    print(f"\n{args.rows:,} enrolments, {dialect}, page of {LIMIT}; peak RSS {peak} MB\n")
    print("| query | matching | Python (before) ms | SQL (after) ms |")
    print("| --- | ---: | ---: | ---: |")
    for r in results:
        before = "-" if r["python_ms"] is None else f"{r['python_ms']:,}"
        print(f"| {r['query']} | {r['total']:,} | {before} | {r['sql_ms']:,} |")
    out = ROOT / "bench" / "results" / f"roster-rest-{dialect}-{dt.date.today().isoformat()}.json"
    record = {
        "rows": args.rows,
        "dialect": dialect,
        "peak_mb": peak,
        "machine": platform.platform(),
    }
    out.write_text(json.dumps(record | {"results": results}, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
