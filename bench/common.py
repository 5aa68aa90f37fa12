"""What the bench scripts share: the hub's processes, a raw HTTP/1.1 load client,
percentiles, the machine's description and where results are written.

The scripts run as `.venv/bin/python bench/bench_<name>.py`, so this folder is on
`sys.path` and they import it as `from common import ...`; importing it puts the
repository's root there too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import multiprocessing
import os
import platform
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import Response  # noqa: E402

from connectors.registry import start_connectors  # noqa: E402
from hub.bootstrap import build_runtime, eventsourcing_env  # noqa: E402
from hub.http.app import build_http_app  # noqa: E402
from hub.http.coalescing import HubHttpProtocol  # noqa: E402
from infra.heap import settle_heap  # noqa: E402
from infra.logging import configure_logging  # noqa: E402
from infra.nats_server import EmbeddedNatsServer, free_port  # noqa: E402
from infra.settings import Settings  # noqa: E402
from projections import projection_statuses  # noqa: E402
from projections.registry import start_projections  # noqa: E402

_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")


# -- the processes -------------------------------------------------------------------------


@dataclass
class HubConfig:
    data_dir: str
    nats_url: str
    stream_prefix: str
    database_url: str
    port: int
    admin_token: str
    log_level: str

    def settings(self) -> Any:
        return Settings(
            data_dir=Path(self.data_dir),
            stream_prefix=self.stream_prefix,
            database_url=self.database_url,
            nats_url=self.nats_url,
            log_json=True,
            log_level=self.log_level,
            demo_tenant=None,
        )


def quiet(config: HubConfig, name: str) -> None:
    """Logs of a child process go to a file in the data folder, not to the terminal."""
    os.environ["HUB_DATA_DIR"] = config.data_dir
    sys.stderr = sys.stdout = open(Path(config.data_dir) / f"{name}.log", "a")  # noqa: SIM115
    configure_logging(json=True, level=config.log_level)


def serve_hub(config: HubConfig) -> None:
    """The hub's HTTP app and the bare endpoint, until SIGTERM."""
    quiet(config, "http")
    runtime = build_runtime(config.settings(), config.nats_url)
    app = build_http_app(
        runtime, admin_token=config.admin_token, projection_statuses=projection_statuses
    )

    @app.post("/bench/noop", status_code=202, include_in_schema=False)
    async def noop() -> Response:
        return Response(status_code=202)

    # Matched first: the bare endpoint pays the least routing of any route on the server
    # (the webhook's route is matched among the hub's others), so the ratio is not
    # flattered by a bare route at the end of the list.
    app.router.routes.insert(0, app.router.routes.pop())

    serve_app(app, config.port)


def serve_app(app: Any, port: int) -> None:
    """`app` under uvicorn on loopback `port`, quietly, until SIGTERM; the heap settled
    first, as `hub serve` does."""
    settle_heap()
    uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
            http=HubHttpProtocol,
        )
    ).run()


def run_workers(config: HubConfig) -> None:
    """Projections and connectors (`hub project` + `hub connect`), until SIGTERM."""
    quiet(config, "workers")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    env = eventsourcing_env(config.settings(), config.nats_url)
    threads = start_projections(env, config.database_url, stop) + start_connectors(env, stop)
    stop.wait()
    for thread in threads:
        thread.join(timeout=15)


def start_process(target: Callable[[HubConfig], None], config: HubConfig) -> Any:
    process = multiprocessing.get_context("spawn").Process(
        target=target, args=(config,), daemon=True
    )
    process.start()
    return process


def stop_process(process: Any) -> None:
    if process.is_alive():
        process.terminate()
    process.join(timeout=30)
    if process.is_alive():
        process.kill()
        process.join(timeout=10)


def wait_ready(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the hub's HTTP server did not start")


# -- a small HTTP/1.1 client --------------------------------------------------------------


@contextmanager
def running(config: HubConfig, *targets: Callable[[HubConfig], None]) -> Iterator[list[Any]]:
    """Each target in its own process, until the hub's HTTP server answers; the processes,
    stopped afterwards (one the caller stopped already is left as it is)."""
    processes: list[Any] = []
    try:
        for target in targets:
            processes.append(start_process(target, config))
        wait_ready(config.port)
        yield processes
    finally:
        for process in processes:
            stop_process(process)


class Connection:
    """One keep-alive connection sending prepared requests (the server answers with a length)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        found = _LENGTH.search(head)
        if found is None:
            raise RuntimeError(f"no Content-Length in {head[:200]!r}")
        body = await self.reader.readexactly(int(found.group(1)))
        return int(head[9:12]), body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def http_request(
    method: str, path: str, port: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Run:
    """Latencies (seconds) and statuses of one measured phase."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, status: int, latency: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(latency)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "requests": len(ordered),
            "seconds": round(self.seconds, 3),
            "per_second": round(len(ordered) / self.seconds, 1) if self.seconds else None,
            "p50_ms": ms(percentile(ordered, 50)),
            "p95_ms": ms(percentile(ordered, 95)),
            "p99_ms": ms(percentile(ordered, 99)),
            "max_ms": ms(ordered[-1]) if ordered else None,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


def percentile(ordered: list[float], q: float) -> float | None:
    """The `q`-th percentile (0 to 100) of already sorted values, by nearest rank."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


async def closed_loop(
    clients: int, seconds: float, make: Callable[[], bytes], port: int, warmup: float = 0.0
) -> Run:
    """`clients` connections, each sending the next request as soon as it has the answer."""
    run = Run()
    started = time.perf_counter()
    measure_from = started + warmup
    end = measure_from + seconds

    async def client() -> None:
        connection = Connection(port)
        try:
            while (now := time.perf_counter()) < end:
                status, _ = await connection.send(make())
                done = time.perf_counter()
                if now >= measure_from:
                    run.add(status, done - now)
        finally:
            connection.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    run.seconds = time.perf_counter() - measure_from
    return run


async def open_loop(
    clients: int, rate: float, seconds: float, make: Callable[[], bytes], port: int
) -> Run:
    """`clients` connections sending `rate` requests a second in all, on a fixed schedule.

    A latency counts from when the request was due, not when it was sent: a late answer
    delays the connection's next request, and that wait is counted too (no coordinated
    omission).
    """
    run = Run()
    interval = clients / rate
    started = time.perf_counter() + 0.05
    end = started + seconds

    async def client(n: int) -> None:
        connection = Connection(port)
        due = started + n * interval / clients
        try:
            while due < end:
                await asyncio.sleep(max(due - time.perf_counter(), 0))
                status, _ = await connection.send(make())
                run.add(status, time.perf_counter() - due)
                due += interval
        finally:
            connection.close()

    await asyncio.gather(*(client(n) for n in range(clients)))
    run.seconds = seconds
    return run


async def fixed_count(
    clients: int, count: int, one: Callable[[Connection, int], Awaitable[int]], port: int
) -> Run:
    """`count` requests shared by `clients` connections; `one` sends request `i`."""
    run = Run()
    next_index = iter(range(count))

    async def client() -> None:
        connection = Connection(port)
        try:
            for i in next_index:
                begun = time.perf_counter()
                status = await one(connection, i)
                run.add(status, time.perf_counter() - begun)
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    run.seconds = time.perf_counter() - started
    return run


def machine(load_before: list[float]) -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


@contextmanager
def bench_hub(
    prefix: str,
    *,
    database_url: str | None = None,
    log_level: str = "WARNING",
    keep: Path | None = None,
) -> Iterator[HubConfig]:
    """A data folder (temporary, or `keep`), the bundled nats-server in it, and the hub's
    configuration on them with a free port; the server is stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        workdir = str(keep or scratch)
        Path(workdir).mkdir(parents=True, exist_ok=True)
        nats = EmbeddedNatsServer(Path(workdir) / "nats")
        nats.start()
        try:
            yield HubConfig(
                data_dir=workdir,
                nats_url=nats.url,
                stream_prefix="bench",
                database_url=database_url or f"sqlite:///{workdir}/hub.sqlite3",
                port=free_port(),
                admin_token=secrets.token_urlsafe(16),
                log_level=log_level,
            )
        finally:
            nats.stop()


def results_path(name: str, quick: bool = False) -> Path:
    """`bench/results/<name>-<UTC date>[-quick].json` (git ignores the quick ones)."""
    suffix = "-quick" if quick else ""
    return ROOT / "bench" / "results" / f"{name}-{dt.date.today().isoformat()}{suffix}.json"


def write_results(results: dict[str, Any], output: Path) -> Path:
    """Write `results` as JSON to `output` (its folder made if needed) and say where."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return output
