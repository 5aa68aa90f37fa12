"""Audit search (issue 8, point 7): a page of `search_audit` over a large audit read model.

    .venv/bin/python bench/bench_audit.py                  # 300,000 rows on SQLite
    .venv/bin/python bench/bench_audit.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/bench_audit.py --quick          # 20,000 rows, smoke run

Fills `audit_v1` directly (the rows a projection would write: 50 tenants, 90 days,
80 % accepted, 15 % rejected, 5 % admin actions, a dozen sources and reasons), then asks
each query `--repeat` times, one after another, for a page of 100, and prints p50 and
p95 per query. On PostgreSQL the tables go in a schema of their own, dropped afterwards.
Prints a Markdown table and writes JSON to bench/results/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common import machine, ms, percentile, results_path, write_results  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from infra.sql import make_engine, writing  # noqa: E402
from projections import schema  # noqa: E402
from projections.audit import NAME, AuditView, stamp  # noqa: E402
from projections.audit_view import AuditQuery, search_audit  # noqa: E402

TENANTS = [f"school-{i:02d}" for i in range(50)]
ACCEPTED = [
    ("spark", "hmac-sha256", "Submission.Received"),
    ("spark", "hs256", "SsoToken.Accepted"),
    ("lti", "jwt-rs256", "LtiLaunch.Accepted"),
    ("oneroster-csv", "admin-token", "RosterImport.Committed"),
    ("spark:course-sync", "api-key", "Quest.Synced"),
]
REJECTED = [
    ("spark:submission", "signature_mismatch"),
    ("spark:sso", "token_expired"),
    ("lti-launch", "nonce_replayed"),
    ("lti_ags", "token_missing"),
    ("accounts:sign-in", "password_wrong"),
]
ADMIN = [("http:admin", "Tenant.Registered"), ("cli:admin", "SparkConnection.Rotated")]
END = datetime(2026, 11, 1, tzinfo=UTC)
SPAN_S = 90 * 24 * 3600


def rows(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    gaps = sorted(rng.random() * SPAN_S for _ in range(count))
    for position, offset in enumerate(gaps, start=1):
        at = stamp(END - timedelta(seconds=SPAN_S - offset))
        tenant = rng.choice(TENANTS)
        roll = rng.random()
        row: dict[str, Any] = {
            "position": position,
            "recorded_at": at,
            "tenant": tenant,
            "actor": None,
            "correlation_id": secrets.token_hex(16),
        }
        if roll < 0.80:
            source, reason, event_type = rng.choice(ACCEPTED)
            row |= {"log": "events", "source": source, "verdict": "accepted", "reason": reason}
            row |= {"event_type": event_type, "summary": f"{event_type} {tenant}.X v1"}
        elif roll < 0.95:
            source, reason = rng.choice(REJECTED)
            row |= {"log": "audit", "source": source, "verdict": "rejected", "reason": reason}
            row |= {"event_type": None, "summary": "the signature does not match the body"}
        else:
            source, event_type = rng.choice(ADMIN)
            row |= {"log": "events", "source": source, "verdict": "admin", "reason": None}
            row |= {"event_type": event_type, "actor": "admin-token", "summary": event_type}
        yield row


def fill(engine: Engine, count: int) -> float:
    view = AuditView(engine, 1)
    view.create_tables()
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    with writing(engine) as conn:
        schema.register(conn, NAME, 1)
        for row in rows(count):
            batch.append(row)
            if len(batch) == 5000:
                conn.execute(view.rows.insert(), batch)
                batch = []
        if batch:
            conn.execute(view.rows.insert(), batch)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"ANALYZE {view.rows.name}"))
        else:
            conn.execute(text("ANALYZE"))
        conn.commit()
    return time.perf_counter() - started


def deep_cursor(engine: Engine, pages: int) -> str | None:
    cursor = None
    for _ in range(pages):
        cursor = search_audit(engine, AuditQuery(cursor=cursor)).next_cursor
    return cursor


def queries(engine: Engine) -> dict[str, Callable[[], AuditQuery]]:
    week = (END - timedelta(days=40), END - timedelta(days=33))
    deep = deep_cursor(engine, 50)
    return {
        "newest page, no filter": AuditQuery,
        "tenant": lambda: AuditQuery(tenant="school-07"),
        "tenant + rejected": lambda: AuditQuery(tenant="school-07", verdict="rejected"),
        "source family spark": lambda: AuditQuery(source="spark"),
        "reason (rare) + tenant": lambda: AuditQuery(reason="nonce_replayed", tenant="school-31"),
        "admin actions": lambda: AuditQuery(verdict="admin"),
        "one week, tenant": lambda: AuditQuery(tenant="school-12", since=week[0], until=week[1]),
        "page 51 (cursor)": lambda: AuditQuery(cursor=deep),
    }


@contextmanager
def database(url: str | None) -> Iterator[str]:
    if url is None or url.startswith("sqlite"):
        with TemporaryDirectory(prefix="bench-audit") as folder:
            yield url or f"sqlite:///{folder}/audit.sqlite3"
        return
    name = "bench_" + secrets.token_hex(4)
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}options=-csearch_path%3D{name}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count, repeat = (20_000, 20) if args.quick else (args.rows, args.repeat)
    load_before = list(os.getloadavg())
    with database(args.database_url) as url:
        engine = make_engine(url)
        try:
            fill_s = fill(engine, count)
            found: dict[str, dict[str, Any]] = {}
            for name, make in queries(engine).items():
                query = make()
                search_audit(engine, query)  # warm: statement compiled, pages cached
                times: list[float] = []
                shown = 0
                for _ in range(repeat):
                    started = time.perf_counter()
                    shown = len(search_audit(engine, query).rows)
                    times.append(time.perf_counter() - started)
                times.sort()
                found[name] = {
                    "rows_on_page": shown,
                    "p50_ms": ms(percentile(times, 50)),
                    "p95_ms": ms(percentile(times, 95)),
                }
        finally:
            engine.dispose()
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(f"audit_v1: {count:,} rows on {dialect}, filled in {fill_s:.1f} s; {repeat} runs each")
    print("\n| query (page of 100) | rows | p50 ms | p95 ms |\n| --- | --- | --- | --- |")
    for name, row in found.items():
        print(f"| {name} | {row['rows_on_page']} | {row['p50_ms']} | {row['p95_ms']} |")
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": dialect,
        "rows": count,
        "repeat": repeat,
        "fill_s": round(fill_s, 2),
        "queries": found,
        "machine": machine(load_before),
    }
    write_results(results, results_path(f"audit-{dialect}", quick=args.quick))


if __name__ == "__main__":
    main()
