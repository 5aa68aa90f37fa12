"""LTI platform figures (issue 5): AGS score POST and NRPS page of 100, 32 clients.

    .venv/bin/python bench/bench_lti.py            # full run, about a minute on 2 cores
    .venv/bin/python bench/bench_lti.py --quick    # smoke run

As bench_spark does: the bundled nats-server; the hub's HTTP app under uvicorn in its own
process (with the gradebook and roster readers, as `hub serve` builds it); this process
sets the tenant up (a Spark quest with 150 enrolled learners, a registered tool, a graded
link), catches the portfolio projection up (NRPS reads its enrolments), gets one access
token from the token endpoint with a signed client assertion, then sends the load on raw
keep-alive HTTP/1.1 connections (bench_spark's client).

  1. AGS score POST: every request a new score (a new user-and-time on one of 20 line
     items), 32 clients flat out, then at half that throughput where p95 is judged.
  2. NRPS: `GET .../memberships?limit=100` (a full page of 100 and a `Link: rel="next"`),
     32 clients flat out, then at half that throughput.

Prints a Markdown table and writes JSON to bench/results/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from bench_lti_profile import profiled  # noqa: E402
from bench_spark import (  # noqa: E402
    HubConfig,
    Run,
    _quiet,
    closed_loop,
    free_port,
    http_request,
    machine,
    open_loop,
    start_process,
    stop_process,
    wait_ready,
)
from joserfc import jwt  # noqa: E402
from joserfc.jwk import RSAKey  # noqa: E402

from hub.bootstrap import build_runtime, eventsourcing_env  # noqa: E402
from hub.domain.learners import Learner  # noqa: E402
from hub.domain.quests import Quest  # noqa: E402
from hub.http.app import build_http_app  # noqa: E402
from hub.lti.limits import NO_LIMIT  # noqa: E402
from infra.nats_client import NatsConnection  # noqa: E402
from infra.nats_server import EmbeddedNatsServer  # noqa: E402
from projections import projection_statuses  # noqa: E402
from projections.gradebook import lti_readers  # noqa: E402
from projections.portfolio import wait_for  # noqa: E402
from projections.registry import get as projection  # noqa: E402
from projections.runner import run_spec  # noqa: E402
from schemas.lti import ALL_SCOPES, LINEITEM_MEDIA, SCORE_MEDIA  # noqa: E402

TENANT = "bench"
GOALS = {"score_p95_ms_max": 30.0, "nrps_p95_ms_max": 40.0}


@dataclass
class Sizes:
    seconds: float = 12.0
    warmup_seconds: float = 2.0
    clients: int = 32
    members: int = 150
    line_items: int = 20


QUICK = Sizes(seconds=3, warmup_seconds=1, members=120, line_items=5)


def serve_lti(config: HubConfig) -> None:
    """The hub's HTTP app as `hub serve` builds it, until SIGTERM."""
    _quiet(config, "http")
    runtime = build_runtime(config.settings(), config.nats_url)
    app = build_http_app(
        runtime,
        admin_token=config.admin_token,
        projection_statuses=projection_statuses,
        lti_readers=lti_readers,
    )
    uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=config.port, log_config=None, access_log=False)
    ).run()


@dataclass
class World:
    port: int
    context_id: str
    client_id: str
    key: RSAKey
    users: list[str]
    line_items: list[str]  # paths
    token: str = ""


def seed(config: HubConfig, sizes: Sizes) -> tuple[str, list[str], int]:
    """The tenant, a quest, its enrolled learners; the quest id, learner ids, last position."""
    runtime = build_runtime(config.settings(), config.nats_url)
    try:
        runtime.hub.register_tenant(TENANT, "Bench School", runtime.box)
        quest = Quest(TENANT, "spark", "course-1", {"title": "Algebra I"})
        people = []
        for n in range(sizes.members):
            person = Learner(
                TENANT, "spark", f"u{n}", f"u{n}@bench.example", "U", f"{n}", "student"
            )
            person.enrol(quest.id, "spark")
            people.append(person)
        position = 0
        for start in range(0, len(people), 50):
            batch = [quest] if start == 0 else []
            recordings = runtime.hub.save(*batch, *people[start : start + 50])
            position = recordings[-1].notification.id
        return quest.id, [p.id for p in people], position
    finally:
        runtime.hub.close()
        NatsConnection.close_all()


def catch_up_portfolio(config: HubConfig, position: int) -> None:
    """Run the portfolio projection here until it has the enrolments."""
    from infra.sql import make_engine  # noqa: PLC0415

    stop = threading.Event()
    env = eventsourcing_env(config.settings(), config.nats_url)
    thread = threading.Thread(
        target=run_spec, args=(projection("portfolio"), env, config.database_url, stop)
    )
    thread.start()
    engine = make_engine(config.database_url)
    try:
        wait_for(engine, {"hub": position}, timeout=120)
    finally:
        stop.set()
        thread.join(timeout=30)
        engine.dispose()


def set_up_tool(config: HubConfig, quest_id: str, users: list[str], sizes: Sizes) -> World:
    base = f"http://127.0.0.1:{config.port}"
    admin = {"Authorization": f"Bearer {config.admin_token}"}
    key = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"})
    with httpx.Client(base_url=base, timeout=30, headers=admin) as client:
        tool = client.post(
            f"/api/v1/admin/tenants/{TENANT}/lti/tools",
            json={
                "name": "Bench tool",
                "login_url": "https://tool.example/login",
                "launch_url": "https://tool.example/launch",
                "redirect_uris": ["https://tool.example/launch"],
                "deployment_ids": ["1"],
                "public_jwk": {**key.as_dict(private=False), "kid": key.thumbprint()},
            },
        )
        tool.raise_for_status()
        client_id = tool.json()["client_id"]
        # The bench measures the services (the limiter's count included), not the limits.
        client.put(
            f"/api/v1/admin/tenants/{TENANT}/lti/rate-limits",
            json={"tenant": NO_LIMIT, "client": NO_LIMIT},
        ).raise_for_status()
        context_id = quest_id.rsplit(".", 1)[1]
        client.post(
            f"/api/v1/admin/tenants/{TENANT}/lti/links",
            json={
                "client_id": client_id,
                "deployment_id": "1",
                "context_id": context_id,
                "title": "Bench quiz",
            },
        ).raise_for_status()
    world = World(config.port, context_id, client_id, key, users, [])
    world.token = access_token(world)
    items = f"/t/{TENANT}/api/lti/ags/contexts/{context_id}/lineitems"
    with httpx.Client(base_url=base, timeout=30) as client:
        for n in range(sizes.line_items):
            made = client.post(
                items,
                headers={"Authorization": f"Bearer {world.token}", "Content-Type": LINEITEM_MEDIA},
                content=json.dumps({"label": f"Quiz {n}", "scoreMaximum": 10}),
            )
            made.raise_for_status()
            world.line_items.append(httpx.URL(made.json()["id"]).path)
    return world


def access_token(world: World) -> str:
    url = f"http://127.0.0.1:{world.port}/t/{TENANT}/api/lti/platform/token"
    now = int(time.time())
    claims = {
        "iss": world.client_id,
        "sub": world.client_id,
        "aud": url,
        "iat": now - 5,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    assertion = jwt.encode(
        {"alg": "RS256", "kid": world.key.thumbprint()}, claims, world.key, algorithms=["RS256"]
    )
    response = httpx.post(
        url,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
            "scope": " ".join(ALL_SCOPES),
        },
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def score_requests(world: World) -> Any:
    """A new score per request: the next user on the next line item, a later timestamp."""
    numbers = count()
    start = dt.datetime.now(dt.UTC)
    headers = {"Authorization": f"Bearer {world.token}", "Content-Type": SCORE_MEDIA}

    def make() -> bytes:
        n = next(numbers)
        item = world.line_items[n % len(world.line_items)]
        body = {
            "userId": world.users[n % len(world.users)],
            "scoreGiven": n % 11,
            "scoreMaximum": 10,
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
            "timestamp": (start + dt.timedelta(milliseconds=n)).isoformat(),
        }
        return http_request(
            "POST", f"{item}/scores", world.port, json.dumps(body).encode(), headers
        )

    return make


def nrps_requests(world: World) -> Any:
    path = f"/t/{TENANT}/api/lti/nrps/contexts/{world.context_id}/memberships?limit=100"
    request = http_request(
        "GET", path, world.port, headers={"Authorization": f"Bearer {world.token}"}
    )
    return lambda: request


def measure(world: World, sizes: Sizes, make: Any) -> dict[str, Run]:
    flat = asyncio.run(
        closed_loop(sizes.clients, sizes.seconds, make, world.port, sizes.warmup_seconds)
    )
    rate = max(len(flat.latencies) / flat.seconds / 2, 1.0)
    half = asyncio.run(open_loop(sizes.clients, rate, sizes.seconds, make, world.port))
    return {"flat_out": flat, "at_half": half}


def table(results: dict[str, Any], clients: int) -> str:
    rows = [
        "| phase | clients | requests | per second | p50 ms | p95 ms | p99 ms |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, label in (("score", "AGS score POST"), ("nrps", "NRPS page of 100")):
        for phase, how in (("flat_out", "flat out"), ("at_half", "at half rate")):
            run = results[name][phase]
            rows.append(
                f"| {label}, {how} | {clients} | {run['requests']} | {run['per_second']} "
                f"| {run['p50_ms']} | {run['p95_ms']} | {run['p99_ms']} |"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--database-url", help="read models (default: SQLite in a temp folder)")
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/...)")
    parser.add_argument("--profile", help="cProfile the server process into this file")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    load_before = list(os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench-lti-") as workdir:
        nats = EmbeddedNatsServer(Path(workdir) / "nats")
        nats.start()
        config = HubConfig(
            data_dir=workdir,
            nats_url=nats.url,
            stream_prefix="bench",
            database_url=args.database_url or f"sqlite:///{workdir}/hub.sqlite3",
            port=free_port(),
            admin_token=secrets.token_urlsafe(16),
            log_level="WARNING",
        )
        http = None
        try:
            quest_id, users, position = seed(config, sizes)
            catch_up_portfolio(config, position)
            http = start_process(profiled(serve_lti, args.profile), config)
            wait_ready(config.port)
            world = set_up_tool(config, quest_id, users, sizes)
            print("AGS score POST ...", flush=True)
            score = measure(world, sizes, score_requests(world))
            print("NRPS page of 100 ...", flush=True)
            nrps = measure(world, sizes, nrps_requests(world))
        finally:
            if http is not None:
                stop_process(http)
            nats.stop()
    results: dict[str, Any] = {
        "benchmark": "lti-platform",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "database": "postgresql" if args.database_url else "sqlite",
        "sizes": vars(sizes),
        "machine": machine(load_before),
        "score": {k: v.summary() for k, v in score.items()},
        "nrps": {k: v.summary() for k, v in nrps.items()},
        "goals": GOALS,
    }
    results["verdict"] = {
        "score_p95_ok": results["score"]["at_half"]["p95_ms"] < GOALS["score_p95_ms_max"],
        "nrps_p95_ok": results["nrps"]["at_half"]["p95_ms"] < GOALS["nrps_p95_ms_max"],
        "all_ok_statuses": all(
            set(run["statuses"]) == {"200"}
            for name in ("score", "nrps")
            for run in results[name].values()
        ),
    }
    print()
    print(table(results, sizes.clients))
    print()
    print(json.dumps(results["verdict"]))
    before, after = results["machine"]["loadavg_before_after"]
    print(f"load average before {before}, after {after} ({os.cpu_count()} CPUs)")
    output = args.output or ROOT / "bench" / "results" / (
        f"lti-platform-{dt.date.today().isoformat()}{'-quick' if args.quick else ''}.json"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
