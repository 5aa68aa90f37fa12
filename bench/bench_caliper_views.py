"""Caliper page views (issue 7 follow-up): what recording a view adds to the dashboard.

    .venv/bin/python bench/bench_caliper_views.py            # about 20 s
    .venv/bin/python bench/bench_caliper_views.py --quick    # smoke run

The bundled nats-server, the hub's HTTP app (as the tests build it, no read models) under
uvicorn in a thread, and one keep-alive client in this process that asks for `/dashboard`
one request after another (so the latency is the page's, not a queue's), in three rounds
taken in turn, over and over:

- off: one learner, the dashboard with its view recording replaced by nothing;
- reload: one learner reloading (after the first, every view is remembered: no commit);
- distinct, off: a new learner each request, recording replaced by nothing;
- distinct: a new learner each request (every view is committed, after the response).

Prints a Markdown table and writes JSON to bench/results/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
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

import httpx  # noqa: E402

from hub.bootstrap import build_runtime  # noqa: E402
from hub.caliper.activity import PageView  # noqa: E402
from hub.domain.learners import Learner  # noqa: E402
from hub.domain.quests import Quest  # noqa: E402
from hub.http import create_app, runtime_readiness  # noqa: E402
from hub.pages import learner as dashboard  # noqa: E402
from hub.spark.sessions import COOKIE_NAME, SessionSigner, session_key  # noqa: E402
from infra.logging import configure_logging  # noqa: E402
from infra.nats_server import EmbeddedNatsServer  # noqa: E402
from infra.settings import Settings  # noqa: E402
from infra.sql import make_engine  # noqa: E402
from tests.hub.http.live_server import live_server  # noqa: E402

TENANT = "views"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(client: httpx.Client, cookie: str) -> float:
    start = time.perf_counter()
    response = client.get("/dashboard", headers={"Cookie": f"{COOKIE_NAME}={cookie}"})
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, response.text
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, per_round = (5, 20) if args.quick else (20, 50)
    configure_logging(json=True, level="WARNING")
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        nats = EmbeddedNatsServer(data / "nats")
        nats.start()
        try:
            settings = Settings(data_dir=data, stream_prefix="benchviews")
            runtime = build_runtime(settings, nats.url)
            runtime.hub.register_tenant(TENANT, "Views", runtime.box)
            quest = Quest(TENANT, "spark", "c-1", {"title": "Course"})
            people = [
                Learner(TENANT, "spark", f"u{i}", f"u{i}@example.org", "U", str(i), "student")
                for i in range(2 * rounds * per_round + 1)
            ]
            for person in people:
                person.enrol(quest.id, "spark")
            runtime.hub.save(quest)
            for first in range(0, len(people), 500):
                runtime.hub.save(*people[first : first + 500])
            signer = SessionSigner(session_key(settings))
            now = int(time.time())
            cookies = [
                signer.issue(tenant=TENANT, learner_id=p.id, role="student", position=0, now=now)[0]
                for p in people
            ]
            engine = make_engine(f"sqlite:///{data / 'read.sqlite3'}")
            app = create_app(runtime, readiness=runtime_readiness(runtime, engine))
            recording = dashboard.record_after
            no_record: Callable[..., Any] = lambda response, *_, **__: response  # noqa: E731
            found: dict[str, list[float]] = {
                "off": [],
                "reload": [],
                "distinct, off": [],
                "distinct": [],
            }
            with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
                for _ in range(20):  # warm up: templates, connections, caches
                    timed(client, cookies[0])
                for r in range(rounds):
                    dashboard.record_after = no_record  # type: ignore[assignment]
                    found["off"] += [timed(client, cookies[0]) for _ in range(per_round)]
                    dashboard.record_after = recording
                    found["reload"] += [timed(client, cookies[0]) for _ in range(per_round)]
                    first = 1 + 2 * r * per_round
                    dashboard.record_after = no_record  # type: ignore[assignment]
                    batch = cookies[first : first + per_round]
                    found["distinct, off"] += [timed(client, cookie) for cookie in batch]
                    dashboard.record_after = recording
                    batch = cookies[first + per_round : first + 2 * per_round]
                    found["distinct"] += [timed(client, cookie) for cookie in batch]
                time.sleep(0.5)  # the last background commits
            views = sum(
                1
                for n in runtime.hub.recorder.select_notifications(1, 1_000_000)
                if n.topic.endswith(":PageView.Viewed")
            )
            runtime.hub.close()
            engine.dispose()
        finally:
            nats.stop()
    rows = {
        name: {
            "requests": len(values),
            "p50_ms": round(statistics.median(values), 2),
            "p95_ms": round(percentile(values, 0.95), 2),
            "mean_ms": round(statistics.fmean(values), 2),
        }
        for name, values in found.items()
    }
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average": os.getloadavg(),
        "rounds": rounds,
        "per_round": per_round,
        "page_views_recorded": views,
        "rows": rows,
        "pageview_topic": f"{PageView.__module__}:PageView.Viewed",
    }
    print("| dashboard | requests | p50 ms | p95 ms | mean ms |")
    print("| --- | --- | --- | --- | --- |")
    for name, row in rows.items():
        print(
            f"| {name} | {row['requests']} | {row['p50_ms']} | {row['p95_ms']} | {row['mean_ms']} |"
        )
    print(f"\nPageView.Viewed events in the log: {views}; load average {result['load_average']}")
    out = ROOT / "bench" / "results" / f"caliper-views-{dt.date.today().isoformat()}.json"
    if not args.quick:
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
