"""Accounts figures (issue 9): password sign-in, and a 5 MB evidence upload to the portfolio.

    .venv/bin/python bench/bench_accounts.py            # about a minute on 2 cores
    .venv/bin/python bench/bench_accounts.py --quick    # smoke run

The processes are bench/common.py's: the bundled nats-server, the hub's HTTP app under
uvicorn, and the projections and connectors (`hub project` + `hub connect`), each in its
own process; this process is the client.

  1. sign-in: `POST /api/v1/accounts/sign-in` (email and password; the argon2id check
     is in every request: m=19 MiB, t=2, p=1), `clients` at a time; p50/p95 latency.
  2. upload to portfolio: `POST /api/v1/me/tasks/{task}/complete` with a 5 MB PDF
     (multipart), a few at a time; the time from sending until `portfolio()` shows the
     completed task with its evidence (polled every 5 ms).

Prints a Markdown table and writes JSON to bench/results/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `common`, run from anywhere

import httpx
from common import (
    HubConfig,
    bench_hub,
    machine,
    percentile,
    results_path,
    run_workers,
    running,
    serve_hub,
    write_results,
)

from hub.accounts import commands as accounts
from hub.accounts.passwords import MEMORY_COST_KIB, PARALLELISM, TIME_COST, Passwords
from hub.bootstrap import build_runtime
from hub.domain.base import EventContext, event_context
from hub.quests import commands as quests
from hub.spark.sessions import SessionSigner, session_key
from infra.sql import make_engine
from projections.portfolio import portfolio

TENANT = "bench"
PASSWORD = "a bench password, long enough"
GOALS = {"sign_in_p95_ms_max": 300.0, "upload_to_portfolio_p95_ms_max": 1000.0}
PDF_5MB = b"%PDF-1.7\n" + b"0" * (5 * 1024 * 1024 - 16) + b"\n%%EOF\n"


@dataclass(frozen=True)
class Sizes:
    sign_ins: int = 300
    clients: int = 2
    people: int = 20
    uploads: int = 40
    upload_clients: int = 2


QUICK = Sizes(sign_ins=60, people=8, uploads=10)


def set_up(config: HubConfig, sizes: Sizes) -> tuple[list[str], list[tuple[str, str]]]:
    """The tenant, people with passwords, a quest with one task per upload; the learners'
    (id, cookie) pairs and the task ids."""
    runtime = build_runtime(config.settings(), config.nats_url)
    hub = runtime.hub
    passwords = Passwords()
    signer = SessionSigner(session_key(runtime.settings))
    with event_context(EventContext("bench", "bench")):
        hub.register_tenant(TENANT, "Bench", runtime.box)
        people = []
        for n in range(sizes.people):
            email = f"person-{n}@example.org"
            opened = accounts.open_account(
                hub, TENANT, email=email, name="Bench Person", role="student"
            )
            accounts.set_password(hub, passwords, TENANT, opened.person_id, PASSWORD)
            people.append(opened.person_id)
        quest = quests.save_quest(hub, TENANT, "bench", {"title": "Bench", "pillar": "stem"})
        tasks = [
            quests.save_task(
                hub,
                TENANT,
                quest.aggregate_id,
                f"t{n}",
                {"title": f"T{n}", "pillar": "stem", "xp": 50},
            ).aggregate_id
            for n in range(sizes.uploads)
        ]
        for person in people:
            quests.enrol(hub, TENANT, person, quest.aggregate_id)
    cookies = []
    for person in people:
        cookie, _ = signer.issue(
            tenant=TENANT, learner_id=person, role="student", position=0, now=int(time.time())
        )
        cookies.append((person, cookie))
    hub.close()
    return tasks, cookies


def summary(samples: list[float], errors: int) -> dict[str, Any]:
    ordered = sorted(samples)
    return {
        "count": len(ordered),
        "errors": errors,
        "p50_ms": round((percentile(ordered, 50) or 0) * 1000, 1),
        "p95_ms": round((percentile(ordered, 95) or 0) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1) if ordered else None,
    }


def measure_sign_in(port: int, sizes: Sizes) -> dict[str, Any]:
    def one(n: int) -> float | None:
        body = {
            "tenant": TENANT,
            "email": f"person-{n % sizes.people}@example.org",
            "password": PASSWORD,
        }
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            started = time.perf_counter()
            answer = client.post("/api/v1/accounts/sign-in", json=body)
            took = time.perf_counter() - started
        return took if answer.status_code == 200 else None

    for n in range(sizes.clients):  # warm-up
        one(n)
    with ThreadPoolExecutor(sizes.clients) as pool:
        found = list(pool.map(one, range(sizes.sign_ins)))
    return summary([f for f in found if f is not None], sum(f is None for f in found))


def measure_uploads(
    port: int, database_url: str, tasks: list[str], cookies: list[tuple[str, str]], sizes: Sizes
) -> dict[str, Any]:
    engine = make_engine(database_url)

    def shown(learner: str, submission_id: str) -> bool:
        found = portfolio(engine, TENANT, learner)
        return found is not None and any(
            task.submission_id == submission_id and task.evidence
            for quest in found.quests
            for task in quest.tasks
        )

    def one(n: int) -> float | None:
        learner, cookie = cookies[n % len(cookies)]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            started = time.perf_counter()
            answer = client.post(
                f"/api/v1/me/tasks/{tasks[n]}/complete",
                data={"text": "bench"},
                files={"files": ("evidence.pdf", PDF_5MB, "application/pdf")},
                headers={"Cookie": f"hub_session={cookie}"},
            )
            if answer.status_code != 201:
                return None
            submission_id = answer.json()["submission_id"]
            deadline = started + 30
            while not shown(learner, submission_id):
                if time.perf_counter() > deadline:
                    return None
                time.sleep(0.005)
            return time.perf_counter() - started

    try:
        with ThreadPoolExecutor(sizes.upload_clients) as pool:
            found = list(pool.map(one, range(sizes.uploads)))
    finally:
        engine.dispose()
    return summary([f for f in found if f is not None], sum(f is None for f in found))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--clients", type=int, help="concurrent sign-in clients (default 2)")
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/...)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    if args.clients:
        sizes = replace(sizes, clients=args.clients)
    load_before = list(os.getloadavg())
    # One client address makes every request: the per-address limit would refuse most.
    os.environ["HUB_SIGN_IN_PER_ADDRESS_PER_MINUTE"] = "100000"
    with bench_hub("bench-accounts-") as config:
        tasks, cookies = set_up(config, sizes)
        with running(config, serve_hub, run_workers):
            print("sign-in ...", flush=True)
            sign_in = measure_sign_in(config.port, sizes)
            print("5 MB upload -> portfolio ...", flush=True)
            uploads = measure_uploads(config.port, config.database_url, tasks, cookies, sizes)
    results = {
        "benchmark": "accounts",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "sizes": vars(sizes),
        "hash": {
            "algorithm": "argon2id",
            "memory_kib": MEMORY_COST_KIB,
            "time_cost": TIME_COST,
            "parallelism": PARALLELISM,
        },
        "machine": machine(load_before),
        "sign_in": sign_in,
        "upload_to_portfolio": uploads,
        "goals": GOALS,
    }
    print()
    print("| measure | count | errors | p50 ms | p95 ms | goal p95 ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, goal in (
        ("sign_in", "sign_in_p95_ms_max"),
        ("upload_to_portfolio", "upload_to_portfolio_p95_ms_max"),
    ):
        r = results[name]
        cells = [name, r["count"], r["errors"], r["p50_ms"], r["p95_ms"], f"< {GOALS[goal]:.0f}"]
        print("| " + " | ".join(map(str, cells)) + " |")
    load = results["machine"]["loadavg_before_after"]
    print(f"\nargon2id m={MEMORY_COST_KIB} KiB t={TIME_COST} p={PARALLELISM}; load {load}")
    write_results(results, args.output or results_path("accounts", args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
