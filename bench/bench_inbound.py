"""Inbound over NATS (issue 8): how fast a backlog drains, and publish -> verdict latency.

    .venv/bin/python bench/bench_inbound.py            # 2,000 backlog, 30 s paced at 50/s
    .venv/bin/python bench/bench_inbound.py --quick    # 200 backlog, 5 s paced

One process: the bundled nats-server in a temp dir, the hub's inbound consumer
(`hub.inbound.consumer.InboundConsumer`, as `hub serve` runs it) and the publisher
(nats-py, JetStream publish, a `reply_to` per message) share this event loop, so the
publisher's own cost is counted in (on a small machine, a bound, not a flattering figure).

  1. backlog: N signed submissions published while the consumer is stopped (each a new
     submission), then the consumer starts: messages per second until the last verdict.
  2. paced: the consumer running, one submission every 1/rate s; per message, the time
     from publish to its verdict (202 after the event is stored): p50, p95, p99.

Prints a Markdown table and writes JSON to bench/results/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import hmac
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine

from hub.bootstrap import build_runtime
from hub.inbound.consumer import InboundConsumer
from hub.inbound.subjects import inbound_subject
from hub.spark.connection import connect_spark
from hub.spark.ingress import build_ingress
from infra.jetstream.loop_wires import close_wires_here
from infra.logging import configure_logging
from infra.nats_client import NatsConnection
from infra.nats_server import EmbeddedNatsServer
from infra.settings import Settings

RESULTS = Path(__file__).parent / "results"


def body(n: int, run: str) -> bytes:
    return json.dumps(
        {
            "spark_user_id": f"user-{n % 500}",
            "spark_assignment_id": f"{run}-assignment-{n}",
            "spark_course_id": "course-1",
            "submission_text": "An essay. " * 40,
            "submission_files": [],
            "submitted_at": "2025-01-15T14:30:00Z",
            "grade": 90.0,
        }
    ).encode()


class Publisher:
    def __init__(self, client, prefix: str, secret: str) -> None:
        self.client, self.prefix, self.secret = client, prefix, secret
        self.inbox = client.new_inbox()
        self.sent: dict[int, float] = {}
        self.answered: dict[int, float] = {}
        self.statuses: dict[int, int] = {}
        self.done = asyncio.Event()
        self.expected = 0

    async def listen(self) -> None:
        async def on_verdict(msg) -> None:
            n = int(msg.subject.rsplit(".", 1)[1])
            self.answered[n] = time.perf_counter()
            self.statuses[n] = json.loads(msg.data)["status"]
            if len(self.answered) >= self.expected:
                self.done.set()

        await self.client.subscribe(f"{self.inbox}.*", cb=on_verdict)

    async def publish(self, n: int, run: str) -> None:
        data = body(n, run)
        headers = {
            "X-Spark-Signature": hmac.new(self.secret.encode(), data, hashlib.sha256).hexdigest(),
            "reply_to": f"{self.inbox}.{n}",
        }
        self.sent[n] = time.perf_counter()
        await self.client.jetstream().publish(
            inbound_subject(self.prefix, "bench", "submission"), data, headers=headers
        )


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def scenario(args: argparse.Namespace, data_dir: Path) -> dict:
    server = EmbeddedNatsServer(data_dir / "nats")
    server.start()
    try:
        runtime = build_runtime(Settings(data_dir=data_dir, stream_prefix="bench"), server.url)
        runtime.hub.register_tenant("bench", "Bench", runtime.box)
        # The webhook limit (100/min by default) would make this a rate-limit test: lift it.
        made = connect_spark(
            runtime.hub,
            runtime.box,
            "bench",
            "https://spark.example/api",
            webhook_limit_per_minute=10_000_000,
        )
        ingress = build_ingress(runtime)
        client = await nats.connect(server.url)
        publisher = Publisher(client, "bench", made.webhook_secret)
        await publisher.listen()

        consumer = InboundConsumer(ingress)
        await consumer.start()  # makes the stream and the durable consumers
        await consumer.stop()
        publisher.expected = args.backlog
        for start in range(0, args.backlog, 64):
            await asyncio.gather(
                *(
                    publisher.publish(n, "backlog")
                    for n in range(start, min(start + 64, args.backlog))
                )
            )
        consumer = InboundConsumer(ingress)
        began = time.perf_counter()
        await consumer.start()
        await asyncio.wait_for(publisher.done.wait(), 600)
        drained_s = time.perf_counter() - began
        backlog_ok = sum(1 for s in publisher.statuses.values() if s == 202)

        publisher.sent.clear(), publisher.answered.clear(), publisher.statuses.clear()
        publisher.done.clear()
        count = int(args.rate * args.seconds)
        publisher.expected = count
        interval = 1 / args.rate
        t0 = time.perf_counter()
        for n in range(count):
            await asyncio.sleep(max(0.0, t0 + n * interval - time.perf_counter()))
            await publisher.publish(n, "paced")
        await asyncio.wait_for(publisher.done.wait(), 600)
        latencies = [(publisher.answered[n] - publisher.sent[n]) * 1000 for n in range(count)]
        paced_ok = sum(1 for s in publisher.statuses.values() if s == 202)
        await consumer.stop()
        await client.drain()
        await close_wires_here()
        runtime.hub.close()
        return {
            "backlog": {
                "messages": args.backlog,
                "accepted_202": backlog_ok,
                "seconds": round(drained_s, 3),
                "per_second": round(args.backlog / drained_s, 1),
            },
            "paced": {
                "rate_per_s": args.rate,
                "messages": count,
                "accepted_202": paced_ok,
                "p50_ms": round(statistics.median(latencies), 2),
                "p95_ms": round(pct(latencies, 95), 2),
                "p99_ms": round(pct(latencies, 99), 2),
                "max_ms": round(max(latencies), 2),
            },
        }
    finally:
        NatsConnection.close_all()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    if args.quick:
        args.backlog, args.seconds = 200, 5.0
    configure_logging(json=False, level="WARNING")
    load = list(os.getloadavg())
    with tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(scenario(args, Path(folder)))
    result = {"figures": figures, "machine": machine(load)}
    b, p = figures["backlog"], figures["paced"]
    print("| inbound over NATS | figure |")
    print("| --- | --- |")
    drained = f"{b['per_second']} msg/s ({b['accepted_202']} x 202)"
    print(f"| backlog of {b['messages']} drained | {drained} |")
    print(
        f"| paced {p['rate_per_s']}/s, publish -> verdict | p50 {p['p50_ms']} ms, "
        f"p95 {p['p95_ms']} ms, p99 {p['p99_ms']} ms ({p['accepted_202']} x 202) |"
    )
    print(f"| load average before, after | {result['machine']['loadavg_before_after']} |")
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    name = f"inbound-{stamp}{'-quick' if args.quick else ''}.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
