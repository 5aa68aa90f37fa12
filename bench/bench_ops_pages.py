"""Operations dashboard figure (issue 8): each `/admin/ops` page's latency with 32 clients,
on 10,000 learners and 50 integrations.

    .venv/bin/python bench/bench_ops_pages.py            # full run, a few minutes on 2 cores
    .venv/bin/python bench/bench_ops_pages.py --quick    # smoke run

The bundled nats-server; a log of 10 tenants with 1,000 learners each, and per tenant
five integrations (a Spark connection with grade passback, an LTI platform's AGS, a
Caliper endpoint, the outbox's email, a SIS connection with sync runs): 50, with
deliveries delivered, failing and dead-lettered in their connectors' logs. Every read
model is built by the real projections (run until they have caught up, then stopped).
The hub's HTTP app as `hub serve` builds it under uvicorn in its own process; one admin
session (signed in through `/admin/sign-in`); this process sends the load over raw
HTTP/1.1 keep-alive connections (bench/common.py), 32 clients flat out, then at half that
rate where p95 is judged (bench_pages.py's `measure`). `/healthz` is measured the same
way first, as the machine's baseline at that moment.

Prints a Markdown table and writes JSON to bench/results/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any

import httpx
from bench_pages import measure, serve_pages, table
from common import bench_hub, http_request, machine, results_path, running, write_results

from connectors.runner import UpstreamLog
from hub.bootstrap import build_runtime, eventsourcing_env
from hub.domain.deliveries import DEAD, DELIVERED, RETRYING, Delivery
from hub.domain.learners import Learner
from hub.domain.roster import SisConnection
from hub.spark.connection import connect_spark
from infra.errors import NatsUnavailableError
from infra.nats_client import NatsConnection
from infra.sql import make_engine
from projections import projection_statuses
from projections.registry import start_projections

GOAL_P95_MS = 100.0
PAGES = ("integrations", "sync", "dead-letters", "projections")
BASELINE = "/healthz"
"""Measured the same way first: what the machine gives the cheapest route at that moment."""
# (connector, the application whose log holds its deliveries, target)
DELIVERIES = (
    ("spark-grades", "passback", "https://spark-{t}.example/api/grades"),
    ("lti-ags-scores", "ltitool", "https://lms-{t}.example/ags/lineitems/1/scores"),
    ("caliper-http", "caliper-http", "https://caliper-{t}.example/events"),
    ("email", "outbox", "mailto:office@{t}.example"),
)


@dataclass
class Sizes:
    tenants: int = 10
    learners_per_tenant: int = 1000
    deliveries_per_integration: int = 40
    sync_runs_per_tenant: int = 20
    clients: int = 32
    seconds: float = 10.0
    warmup_seconds: float = 2.0


QUICK = Sizes(learners_per_tenant=50, deliveries_per_integration=5, seconds=3.0)


def record_log(config: Any, sizes: Sizes) -> None:
    """Tenants, learners, integrations with their deliveries and sync runs; then every
    projection catches up, and stops."""
    settings = config.settings()
    runtime = build_runtime(settings, config.nats_url)
    env = eventsourcing_env(settings, config.nats_url)
    hub = runtime.hub
    logs = {name: UpstreamLog(name, env) for _, name, _ in DELIVERIES}
    try:
        for t in range(sizes.tenants):
            tenant = f"school-{t}"
            hub.register_tenant(tenant, f"School {t}", runtime.box)
            connect_spark(hub, runtime.box, tenant, f"https://spark-{t}.example/api")
            people = [
                Learner(
                    tenant=tenant,
                    source="spark",
                    external_id=f"u{n}",
                    email=f"u{n}@{tenant}.example",
                    given_name=f"Learner{n}",
                    family_name="Bench",
                    role="student",
                )
                for n in range(sizes.learners_per_tenant)
            ]
            for first in range(0, len(people), 500):
                hub.save(*people[first : first + 500])
            sis = SisConnection(
                tenant=tenant,
                name="powerschool",
                kind="oneroster-rest",
                config={"base_url": f"https://sis-{t}.example"},
                sealed_secret="-",
                schedule="0 2 * * *",
            )
            for r in range(sizes.sync_runs_per_tenant):
                at = dt.datetime.now(dt.UTC).isoformat()
                if r % 5 == 4:
                    sis.sync_failed(f"job-{r}", "commit", "HTTP 503 from the SIS", 3, at)
                else:
                    sis.sync_succeeded(f"job-{r}", "commit", f"c{r}", None, {}, 1, at)
            hub.save(sis)
            for connector, name, target in DELIVERIES:
                made = []
                for k in range(sizes.deliveries_per_integration):
                    delivery = Delivery(
                        tenant=tenant,
                        connector=connector,
                        key=f"k{k}",
                        target=target.format(t=t),
                        payload={},
                        caused_by="bench",
                    )
                    outcome = (DELIVERED, DELIVERED, RETRYING, DEAD)[k % 4]
                    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
                    if outcome == DELIVERED:
                        delivery.record_attempt(DELIVERED, 200, "", None)
                    else:
                        delivery.record_attempt(RETRYING, 503, "unavailable", later)
                        if outcome == DEAD:
                            delivery.record_attempt(DEAD, 400, "rejected by the target", None)
                    made.append(delivery)
                logs[name].save(*made)
    finally:
        for log in logs.values():
            log.close()
        hub.close()
    stop = threading.Event()
    engine = make_engine(config.database_url)
    threads = start_projections(env, config.database_url, stop)
    runtime = build_runtime(settings, config.nats_url)
    try:
        while True:
            try:
                if not any(s.lag for s in projection_statuses(runtime.hub, engine)):
                    break
            except NatsUnavailableError:  # a loaded machine: the runners retry, so do we
                pass
            stop.wait(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        runtime.hub.close()
        engine.dispose()
        NatsConnection.close_all()


def admin_cookie(config: Any) -> str:
    answer = httpx.post(
        f"http://127.0.0.1:{config.port}/admin/sign-in",
        data={"token": config.admin_token, "next": "/admin/ops"},
    )
    assert answer.status_code == 303, answer.text
    return str(answer.cookies.get("hub_admin") or answer.headers["set-cookie"].split(";")[0][10:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--database-url", help="read models (default: SQLite in a temp folder)")
    parser.add_argument("--clients", type=int, help="concurrent clients (default 32)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    if args.clients:
        sizes.clients = args.clients
    load_before = list(os.getloadavg())
    with bench_hub("bench-ops-", database_url=args.database_url) as config:
        learners = sizes.tenants * sizes.learners_per_tenant
        print(f"recording {learners} learners and 50 integrations ...", flush=True)
        record_log(config, sizes)
        with running(config, serve_pages):
            cookie = admin_cookie(config)
            pages = {}
            for path in (BASELINE, *(f"/admin/ops/{page}" for page in PAGES)):
                print(f"{path} ...", flush=True)
                request = http_request(
                    "GET", path, config.port, headers={"Cookie": f"hub_admin={cookie}"}
                )
                runs = measure(config.port, [request], sizes)  # type: ignore[arg-type]
                assert set(runs["flat_out"].statuses) == {200}, runs["flat_out"].statuses
                pages[path] = {mode: run.summary() for mode, run in runs.items()}
    results: dict[str, Any] = {
        "benchmark": "ops_pages",
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
        if name == BASELINE:
            continue
        half = runs["at_half"]["p95_ms"]
        verdict = "met" if half is not None and half < GOAL_P95_MS else "missed"
        print(
            f"{name}: p95 {half} ms at half rate, {runs['flat_out']['p95_ms']} ms flat out "
            f"(goal < {GOAL_P95_MS} ms): {verdict}"
        )
    before, after = results["machine"]["loadavg_before_after"]
    print(f"load average before {before}, after {after} ({os.cpu_count()} CPUs)")
    write_results(results, results_path("ops-pages", args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
