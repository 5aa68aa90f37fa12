"""CPU per request of the hub's HTTP process: the bare endpoint beside the submission webhook.

    .venv/bin/python bench/profile_ingest.py                  # 4,000 requests of each kind
    .venv/bin/python bench/profile_ingest.py --requests 8000 --rounds 3
    .venv/bin/python bench/profile_ingest.py --py-spy webhook.svg   # sample the webhook run
    .venv/bin/python bench/profile_ingest.py --py-spy bare.txt --py-spy-kind bare  # raw stacks
    .venv/bin/python bench/profile_ingest.py --strace    # system calls per request (strace -c)

On a machine others share, throughput follows their load; the CPU time the HTTP process
spends per request follows it less (it still swings by a quarter: alternate the trees
you compare, several rounds each). This starts the hub as `bench_spark.py` does (the
bundled nats-server, the Spark simulator, the HTTP app under uvicorn with the bare
endpoint matched first; no projections or connectors), prepares the requests, then
drives each kind with 32 keep-alive clients and reads the process's utime + stime from
`/proc/<pid>/stat` before and after: microseconds of CPU per request, bare and webhook,
and their ratio (the throughput ratio the server could reach with a core of its own).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench_spark import Spark, set_up
from common import Connection, Run, bench_hub, fixed_count, running, serve_hub

from hub.dev import SparkSimulator

_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of process `pid` (every thread), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_S


def drive(port: int, requests: list[bytes], clients: int) -> Run:
    async def one(connection: Connection, i: int) -> int:
        status, _ = await connection.send(requests[i])
        return status

    return asyncio.run(fixed_count(clients, len(requests), one, port))


def measure(pid: int, port: int, requests: list[bytes], clients: int) -> tuple[float, Run]:
    """CPU microseconds per request of process `pid` while it answers `requests`."""
    before = cpu_seconds(pid)
    run = drive(port, requests, clients)
    spent = cpu_seconds(pid) - before
    return spent / len(requests) * 1e6, run


def per_request(summary: Path, requests: int) -> str:
    """System calls per request, from `strace -c`'s table."""
    counts = []
    for line in summary.read_text().splitlines():
        cells = line.split()
        if len(cells) >= 5 and cells[3].isdigit():
            counts.append(f"{cells[-1]} {int(cells[3]) / requests:.2f}")
    return "  system calls per request: " + ", ".join(counts[:8])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000, help="per kind and round")
    parser.add_argument("--rounds", type=int, default=2, help="bare then webhook, this often")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--strace", action="store_true", help="count the HTTP process's system calls per kind"
    )
    parser.add_argument(
        "--py-spy-kind",
        choices=("bare", "webhook"),
        default="webhook",
        help="which kind --py-spy samples",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        help="record the last round of --py-spy-kind here (.svg, or .txt: collapsed stacks)",
    )
    args = parser.parse_args(argv)
    users = [f"ingest-user-{n}" for n in range(1000)]

    with (
        bench_hub("profile-ingest-", log_level="INFO") as config,
        SparkSimulator(api_rate_limit=None) as simulator,
    ):
        spark: Spark = set_up(config, simulator)
        with running(config, serve_hub) as (http,):
            warm = [spark.submission(users[i % 1000], i) for i in range(500)]
            drive(config.port, warm, args.clients)
            drive(config.port, [spark.bare(users[0], i) for i in range(500)], args.clients)
            figures: dict[str, list[float]] = {"bare": [], "webhook": []}
            for round_ in range(args.rounds):
                for kind in ("bare", "webhook"):
                    make = spark.bare if kind == "bare" else spark.submission
                    requests = [make(users[i % 1000], i) for i in range(args.requests)]
                    spy = None
                    if args.py_spy and kind == args.py_spy_kind and round_ == args.rounds - 1:
                        spy = subprocess.Popen(
                            [
                                str(Path(sys.executable).with_name("py-spy")),
                                "record",
                                "--nonblocking",
                                "-r",
                                "100",
                                "-f",
                                "raw" if args.py_spy.suffix == ".txt" else "flamegraph",
                                "-o",
                                str(args.py_spy),
                                "--pid",
                                str(http.pid),
                            ]
                        )
                    tracer = None
                    if args.strace and round_ == args.rounds - 1:
                        tracer = subprocess.Popen(
                            [
                                "strace",
                                "-c",
                                "-f",
                                "-o",
                                f"/tmp/strace-{kind}.txt",
                                "-p",
                                str(http.pid),
                            ],
                            stderr=subprocess.DEVNULL,
                        )
                        time.sleep(1)
                    us, run = measure(http.pid, config.port, requests, args.clients)
                    if tracer is not None:
                        tracer.send_signal(signal.SIGINT)
                        tracer.wait(timeout=60)
                        print(per_request(Path(f"/tmp/strace-{kind}.txt"), len(requests)))
                    if spy is not None:
                        spy.send_signal(signal.SIGINT)
                        spy.wait(timeout=60)
                    summary = run.summary()
                    figures[kind].append(us)
                    print(
                        f"{kind:8} round {round_ + 1}: {us:7.1f} µs CPU/request, "
                        f"{summary['per_second']}/s, statuses {summary['statuses']}",
                        flush=True,
                    )
    bare, webhook = min(figures["bare"]), min(figures["webhook"])
    print(
        f"best: bare {bare:.0f} µs, webhook {webhook:.0f} µs; "
        f"CPU-bound ratio {bare / webhook:.2f}; load average {os.getloadavg()[0]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
