"""Caliper figures (issue 7): emission latency after the source event, HTTP delivery throughput.

    .venv/bin/python bench/bench_caliper.py            # full run, about a minute on 2 cores
    .venv/bin/python bench/bench_caliper.py --quick    # smoke run

The bundled nats-server runs in a temporary folder; the Caliper endpoint runs in its
own process (a bare asyncio HTTP/1.1 server that counts the events of each POST and
answers 200), so that the delivery loops in this process have the machine's other core.

  1. emission: Spark sign-ins (`SsoToken.Accepted`, one message each) recorded at a fixed
     rate while the `caliper` emitter runs; the time from each save's return until its
     SessionEvent envelope arrives on `<prefix>.caliper.>` (a plain NATS subscription).
  2. delivery: the Caliper stream filled with envelopes of one tenant beforehand, then
     the batcher and the sender started; the time until the endpoint has every event,
     as events per second, and how many POSTs (batches) it took.

Prints a Markdown table and writes JSON to bench/results/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from common import free_port, machine, percentile, results_path, write_results

from connectors.caliper_delivery import (
    CaliperDeliverySettings,
    run_batcher,
    run_sender,
)
from connectors.caliper_emitter import SPEC
from connectors.caliper_stream import CaliperStream, envelope_for
from connectors.runner import run_process
from hub.application import Hub
from hub.bootstrap import eventsourcing_env
from hub.caliper.iris import Iris, application, caliper_event_id
from hub.caliper.settings import CaliperConfig, configure_caliper
from hub.domain.learners import learner_id
from hub.domain.spark import SsoToken
from infra.jetstream.factory import wire_for
from infra.jetstream.wire import OutMsg
from infra.logging import configure_logging
from infra.nats_client import NatsConnection
from infra.nats_server import EmbeddedNatsServer
from infra.secrets import SecretBox
from infra.settings import Settings
from schemas.caliper import CaliperEvent, Person

KEY = "bench caliper key"
BOX = SecretBox.from_text(KEY)


# The endpoint: its own process --------------------------------------------------------


def endpoint_main(port: int, ready: Any, counts: Any) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await serve_connection(reader, writer)
        writer.close()

    async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
            if not head:
                break
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            with counts.get_lock():
                counts[0] += body.count(b'"@context"')
                counts[1] += 1
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, reuse_address=True)
        ready.set()
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def emitter_main(env: dict[str, str], stop: Any) -> None:
    """The `caliper` emitter, as `hub connect` runs it, until `stop` is set."""
    configure_logging(json=True, level="WARNING")
    done = threading.Event()
    threading.Thread(target=lambda: (stop.wait(), done.set()), daemon=True).start()
    run_process(SPEC, env, done)
    NatsConnection.close_all()


# Phases -------------------------------------------------------------------------------


def emission(env: dict[str, str], hub: Hub, *, seconds: float, burst: int) -> dict[str, Any]:
    tenant = "emit"
    hub.register_tenant(tenant, "Emit", BOX)
    configure_caliper(hub, BOX, tenant, CaliperConfig())
    arrivals: dict[str, float] = {}
    connection = NatsConnection.shared(env["NATS_URL"])
    prefix = env["NATS_STREAM_PREFIX"]

    async def on_msg(msg: Any) -> None:
        event = json.loads(msg.data)["data"][0]
        arrivals.setdefault(event["id"], time.perf_counter())

    subscription = connection.run(
        lambda: connection.client.subscribe(f"{prefix}.caliper.{tenant}.>", cb=on_msg)
    )
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    emitter = ctx.Process(target=emitter_main, args=(env, stop), daemon=True)
    emitter.start()
    numbers = iter(range(10**9))

    def sign_in() -> str:
        n = next(numbers)
        token = SsoToken(
            tenant=tenant,
            token_key=f"bench-{n}",
            subject=f"u{n % 50}",
            expires_at=2_000_000_000,
            learner_id=learner_id(tenant, "spark", f"u{n % 50}"),
            matched_by="identity",
            claims={"sub": f"u{n % 50}", "given_name": "Bench"},
        )
        hub.save(token)
        return caliper_event_id(tenant, f"{token.id}@1", "SessionEvent.LoggedIn")

    def wait(ids: list[str]) -> None:
        deadline = time.perf_counter() + 120
        while any(i not in arrivals for i in ids) and time.perf_counter() < deadline:
            time.sleep(0.01)

    wait([sign_in()])  # the emitter has taken its lease and subscribed
    # Flat out: a burst of sign-ins, saved as fast as one writer can; the emitter's pace.
    start = time.perf_counter()
    burst_ids = [sign_in() for _ in range(burst)]
    wait(burst_ids)
    flat_out = burst / (max(arrivals[i] for i in burst_ids) - start)
    # Latency at a fixed rate, half the flat-out pace (at most 200/s).
    rate = min(200.0, flat_out / 2)
    saved: dict[str, float] = {}
    count = int(rate * seconds)
    start = time.perf_counter()
    for n in range(count):
        time.sleep(max(0.0, start + n / rate - time.perf_counter()))
        caliper_id = sign_in()
        saved[caliper_id] = time.perf_counter()
    wait(list(saved))
    stop.set()
    emitter.join(timeout=30)
    connection.run(subscription.unsubscribe)
    latencies = sorted((arrivals[i] - t) * 1000 for i, t in saved.items() if i in arrivals)
    return {
        "flat_out_per_s": round(flat_out),
        "events": count,
        "arrived": len(latencies),
        "rate_per_s": round(rate),
        "p50_ms": round(percentile(latencies, 50) or 0.0, 2),
        "p95_ms": round(percentile(latencies, 95) or 0.0, 2),
        "p99_ms": round(percentile(latencies, 99) or 0.0, 2),
        "max_ms": round(max(latencies), 2),
    }


def fill(env: dict[str, str], tenant: str, count: int) -> None:
    """`count` envelopes of `tenant` on the stream, published many at a time."""
    stream = CaliperStream(env)
    stream.ensure()
    iris = Iris(tenant)
    app = application(iris, "hub")
    body_of = []
    for n in range(count):
        event = CaliperEvent(
            id=caliper_event_id(tenant, f"bench@{n}", "SessionEvent.LoggedIn"),
            type="SessionEvent",
            action="LoggedIn",
            actor=Person(id=f"{iris.base}:person:{n % 500}"),
            object=app,
            eventTime=dt.datetime.now(dt.UTC),
            edApp=app,
        ).to_json()
        body = envelope_for(iris.sensor(), event).to_json()
        body_of.append(
            OutMsg(
                f"{stream.prefix}.caliper.{tenant}.SessionEvent",
                json.dumps(body, separators=(",", ":")).encode(),
                {"Nats-Msg-Id": event["id"]},
            )
        )
    wire = wire_for(stream.connection)
    for start in range(0, count, 500):
        chunk = body_of[start : start + 500]

        async def publish_all(msgs: list[OutMsg] = chunk) -> None:
            await asyncio.gather(*(wire.publish(m) for m in msgs))

        stream.connection.run(publish_all, timeout=60)


def delivery(env: dict[str, str], hub: Hub, *, count: int, batch_size: int) -> dict[str, Any]:
    tenant = "deliver"
    port = free_port()
    ctx = multiprocessing.get_context("spawn")
    ready, counts = ctx.Event(), ctx.Array("q", [0, 0])
    server = ctx.Process(target=endpoint_main, args=(port, ready, counts), daemon=True)
    server.start()
    ready.wait(10)
    hub.register_tenant(tenant, "Deliver", BOX)
    configure_caliper(
        hub,
        BOX,
        tenant,
        CaliperConfig(
            endpoint_url=f"http://127.0.0.1:{port}/caliper",
            bearer_token="bench-token",
            allowed_hosts=("127.0.0.1",),
        ),
    )
    fill(env, tenant, count)
    settings = CaliperDeliverySettings(batch_size=batch_size, idle_s=0.01)
    stop = threading.Event()
    loops = [
        threading.Thread(target=run_batcher, args=(env, stop), kwargs={"settings": settings}),
        threading.Thread(target=run_sender, args=(env, stop), kwargs={"settings": settings}),
    ]
    start = time.perf_counter()
    for loop in loops:
        loop.start()
    while counts[1] == 0 and time.perf_counter() < start + 60:
        time.sleep(0.001)
    first_post = time.perf_counter()
    deadline = start + 300
    while counts[0] < count and time.perf_counter() < deadline:
        time.sleep(0.01)
    end = time.perf_counter()
    elapsed = end - start
    stop.set()
    for loop in loops:
        loop.join(timeout=30)
    server.terminate()
    return {
        "events": count,
        "delivered": int(counts[0]),
        "posts": int(counts[1]),
        "batch_size": batch_size,
        "seconds": round(elapsed, 2),
        "startup_s": round(first_post - start, 2),
        "events_per_s": round(counts[0] / elapsed),
        "events_per_s_after_first_post": round(counts[0] / max(end - first_post, 1e-9)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    configure_logging(json=True, level="WARNING")
    os.environ["HUB_CALIPER_RETENTION_DAYS"] = "1"
    load_before = list(os.getloadavg())
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        (data / "secret.key").write_text(KEY)
        server = EmbeddedNatsServer(data / "nats")
        server.start()
        try:
            settings = Settings(data_dir=data, stream_prefix="bench")
            env = {**eventsourcing_env(settings, server.url), "HUB_DATA_DIR": str(data)}
            hub = Hub(env=env)
            emitted = emission(
                env, hub, seconds=3 if args.quick else 15, burst=200 if args.quick else 1000
            )
            delivered = delivery(
                env, hub, count=5_000 if args.quick else 30_000, batch_size=args.batch_size
            )
            hub.close()
        finally:
            NatsConnection.close_all()
            server.stop()
    results = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(load_before),
        "quick": args.quick,
        "emission": emitted,
        "delivery": delivered,
        "goals": {
            "emission p95 < 500 ms": emitted["p95_ms"] < 500,
            "delivery >= 5000 events/s": delivered["events_per_s"] >= 5000,
        },
    }
    e, d = emitted, delivered
    print("| figure | events | p50 ms | p95 ms | p99 ms | throughput |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| emission after the source event, at {e['rate_per_s']}/s | "
        f"{e['arrived']}/{e['events']} | {e['p50_ms']} | {e['p95_ms']} | {e['p99_ms']} | "
        f"{e['flat_out_per_s']} events/s flat out |"
    )
    print(
        f"| HTTP delivery, batches of {d['batch_size']} ({d['posts']} POSTs) | "
        f"{d['delivered']}/{d['events']} | | | | {d['events_per_s']} events/s "
        f"({d['events_per_s_after_first_post']}/s after the first POST) |"
    )
    for goal, met in results["goals"].items():
        print(f"- {goal}: {'met' if met else 'missed'}")
    if not args.quick:
        write_results(results, results_path("caliper"))


if __name__ == "__main__":
    main()
