"""Webhook delivery: latency from an event's commit to its subscribers, and throughput, with
one subscriber that never answers beside the ones that do.

    .venv/bin/python bench/bench_webhooks.py            # full run
    .venv/bin/python bench/bench_webhooks.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from common import bench_hub, machine, percentile, results_path, write_results
from fastapi import FastAPI, Request, Response

from connectors.webhooks import SPEC, WebhookDeliverySettings, run_deliveries
from hub.bootstrap import build_runtime, eventsourcing_env
from hub.domain.quests import Quest
from hub.webhooks.subscriptions import Registries
from tests.hub.http.live_server import live_server

TENANT = "acme"


class Receiver:
    """`/quick/{n}` notes when each event arrived; `/hang` keeps the request unanswered."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrived: dict[int, dict[str, float]] = defaultdict(dict)
        self.release = False

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/quick/{n}")
        async def quick(n: int, request: Request) -> Response:
            body = await request.json()
            with self.lock:
                self.arrived[n].setdefault(body["data"]["aggregate_id"], time.perf_counter())
            return Response(status_code=204)

        @app.post("/hang")
        async def hang() -> Response:
            while not self.release:
                await asyncio.sleep(0.05)
            return Response(status_code=204)

        return app

    def count(self) -> int:
        with self.lock:
            return min((len(v) for v in self.arrived.values()), default=0)


def save_quests(hub: Any, keys: list[str], rate: float | None) -> dict[str, float]:
    saved: dict[str, float] = {}
    started = time.perf_counter()
    for index, key in enumerate(keys):
        if rate is not None:
            time.sleep(max(0.0, started + index / rate - time.perf_counter()))
        quest = Quest(tenant=TENANT, source="bench", external_id=key, details={"title": key})
        hub.save(quest)
        saved[str(quest.id)] = time.perf_counter()
    return saved


def wait_all(receiver: Receiver, total: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while receiver.count() < total:
        if time.monotonic() > deadline:
            msg = f"only {receiver.count()} of {total} arrived"
            raise TimeoutError(msg)
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--subscribers", type=int, default=4)
    args = parser.parse_args()
    paced, burst, rate = (100, 200, 50.0) if args.quick else (1500, 3000, 50.0)
    load_before = list(os.getloadavg())
    receiver = Receiver()
    with bench_hub("bench-webhooks-") as config, live_server(receiver.app()) as base:
        settings = config.settings()
        runtime = build_runtime(settings, config.nats_url)
        env = {**eventsourcing_env(settings, config.nats_url), "HUB_DATA_DIR": config.data_dir}
        runtime.hub.register_tenant(TENANT, "Acme", runtime.box)
        registries = Registries(runtime.hub, runtime.box)
        registries.allow_hosts(TENANT, ["127.0.0.1"])
        now = datetime.now(UTC)
        for n in range(args.subscribers):
            registries.subscribe(
                TENANT,
                url=f"{base}/quick/{n}",
                event_types=["Quest.Synced"],
                description="",
                now=now,
            )
        registries.subscribe(
            TENANT, url=f"{base}/hang", event_types=["Quest.Synced"], description="", now=now
        )
        stop = threading.Event()
        delivery = WebhookDeliverySettings(retry_schedule_s="600", timeout_s=30, idle_s=0.01)
        threads = [
            threading.Thread(target=SPEC.run, args=(env, stop), daemon=True),
            threading.Thread(
                target=run_deliveries,
                args=(env, stop),
                kwargs={"settings": delivery},
                daemon=True,
            ),
        ]
        for thread in threads:
            thread.start()
        try:
            saved = save_quests(runtime.hub, [f"p{i}" for i in range(paced)], rate)
            wait_all(receiver, paced)
            with receiver.lock:
                latencies = sorted(
                    (arrived[key] - saved[key]) * 1000
                    for arrived in receiver.arrived.values()
                    for key in saved
                )
            started = time.perf_counter()
            save_quests(runtime.hub, [f"b{i}" for i in range(burst)], None)
            committed = time.perf_counter() - started
            wait_all(receiver, paced + burst)
            elapsed = time.perf_counter() - started
        finally:
            receiver.release = True
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            runtime.hub.close()
    deliveries = burst * args.subscribers
    results = {
        "machine": machine(load_before),
        "subscribers": args.subscribers,
        "hanging_subscribers": 1,
        "paced": {
            "events": paced,
            "rate_per_s": rate,
            "deliveries": len(latencies),
            "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99),
        },
        "burst": {
            "events": burst,
            "deliveries": deliveries,
            "commit_s": round(committed, 2),
            "elapsed_s": round(elapsed, 2),
            "deliveries_per_s": round(deliveries / elapsed, 1),
        },
    }
    p = results["paced"]
    print("| figure | deliveries | p50 ms | p95 ms | p99 ms | throughput |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| commit to subscriber, {rate:.0f} events/s, {args.subscribers} subscribers + 1 "
        f"hanging | {p['deliveries']} | {p['p50_ms']:.1f} | {p['p95_ms']:.1f} | "
        f"{p['p99_ms']:.1f} | |"
    )
    b = results["burst"]
    print(
        f"| burst of {burst} events | {deliveries} | | | | {b['deliveries_per_s']} "
        f"deliveries/s ({b['elapsed_s']} s) |"
    )
    write_results(results, results_path("webhooks", args.quick))


if __name__ == "__main__":
    main()
