"""LTI figures, the hub as tool (issue 5): launch validation under 32 concurrent clients.

    .venv/bin/python bench/bench_lti_tool.py            # full run, about a minute on 2 cores
    .venv/bin/python bench/bench_lti_tool.py --quick    # smoke run

The bundled nats-server, the hub's HTTP app in its own process (as `hub serve`), and in
this process a platform: its JWKS on loopback, the id_tokens it signs, and the load
(raw HTTP/1.1 keep-alive connections on asyncio, `bench_spark`'s client).

  1. logins: `GET /t/bench/api/lti/tool/login` (each records `LtiLaunch.Initiated`), 8
     clients; the state and nonce of each are kept for a launch.
  2. launches: `POST /api/lti/tool/launch` with a freshly signed id_token per login (RS256,
     the platform's key from its JWKS), 32 clients flat out, then 32 clients at a fixed
     offered rate, half the flat-out throughput, where p95 is judged (flat out, latency is
     the queue: 32 clients / throughput). Learners are a few hundred, so most launches are
     a returning learner's: the one-event path. 303 expected.

Prints a Markdown table and writes JSON to bench/results/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import platform as host
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import bench_spark as kit  # noqa: E402
from bench_lti_profile import profiled  # noqa: E402
from joserfc import jwt  # noqa: E402
from joserfc.jwk import RSAKey  # noqa: E402

from hub.bootstrap import build_runtime  # noqa: E402
from hub.lti.limits import NO_LIMIT, set_limits  # noqa: E402
from hub.lti.tool.registrations import register_platform  # noqa: E402
from infra.nats_client import NatsConnection  # noqa: E402
from infra.nats_server import EmbeddedNatsServer  # noqa: E402
from schemas.lti import RateLimitsIn  # noqa: E402
from schemas.lti_tool import PlatformRegistrationIn  # noqa: E402

TENANT = "bench"
ISSUER = "https://lms.bench.example"
CLIENT_ID = "bench-tool"
DEPLOYMENT = "dep-1"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
GOALS = {"launch_p95_ms_max": 50.0}
_LOCATION = re.compile(rb"(?i)\r\nlocation:\s*([^\r\n]+)")


@dataclass
class Sizes:
    launches: int = 3000
    users: int = 300
    clients: int = 32
    rate_seconds: float = 10.0


QUICK = Sizes(launches=600, users=100, rate_seconds=3.0)


class Platform:
    """The bench's LMS: one RSA key, served as a JWKS on loopback."""

    def __init__(self) -> None:
        key = RSAKey.generate_key(2048)
        self.kid = key.thumbprint()
        self.key = key
        public = {**key.as_dict(private=False), "kid": self.kid, "alg": "RS256", "use": "sig"}
        body = json.dumps({"keys": [public]}).encode()

        class Jwks(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def id_token(self, user: str, nonce: str) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "sub": user,
            "iat": now - 5,
            "exp": now + 600,
            "nonce": nonce,
            "name": f"Learner {user}",
            "email": f"{user}@bench.example",
            LTI + "message_type": "LtiResourceLinkRequest",
            LTI + "version": "1.3.0",
            LTI + "deployment_id": DEPLOYMENT,
            LTI + "target_link_uri": "https://tool.example/launch",
            LTI + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            LTI + "resource_link": {"id": "rl-1", "title": "Essay"},
            LTI + "context": {"id": "c1", "label": "BIO", "title": "Biology"},
        }
        return jwt.encode({"alg": "RS256", "kid": self.kid}, claims, self.key)


class HeadConnection(kit.Connection):
    """`bench_spark`'s connection, keeping the last answer's head (for Location)."""

    async def send_with_head(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        found = kit._LENGTH.search(head)
        await self.reader.readexactly(int(found.group(1)) if found else 0)
        return int(head[9:12]), head


def login_request(port: int, user: str) -> bytes:
    query = urlencode(
        {
            "iss": ISSUER,
            "login_hint": user,
            "target_link_uri": "https://tool.example/launch",
            "client_id": CLIENT_ID,
            "lti_deployment_id": DEPLOYMENT,
        }
    )
    return kit.http_request("GET", f"/t/{TENANT}/api/lti/tool/login?{query}", port)


async def logins(port: int, count: int, users: int) -> tuple[kit.Run, list[tuple[str, str, str]]]:
    """`count` logins by 8 clients: the run, and (user, state, nonce) of each."""
    run = kit.Run()
    made: list[tuple[str, str, str]] = []
    indices = iter(range(count))

    async def client() -> None:
        connection = HeadConnection(port)
        try:
            for i in indices:
                user = f"u{i % users}"
                begun = time.perf_counter()
                status, head = await connection.send_with_head(login_request(port, user))
                run.add(status, time.perf_counter() - begun)
                found = _LOCATION.search(head)
                if status == 302 and found:
                    query = parse_qs(urlsplit(found.group(1).decode()).query)
                    made.append((user, query["state"][0], query["nonce"][0]))
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(8)))
    run.seconds = time.perf_counter() - started
    return run, made


def launch_request(port: int, token: str, state: str) -> bytes:
    body = f"id_token={quote(token)}&state={quote(state)}".encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return kit.http_request("POST", "/api/lti/tool/launch", port, body, headers)


def prepare(port: int, platform: Platform, sizes: Sizes, count: int) -> tuple[kit.Run, list[bytes]]:
    run, made = asyncio.run(logins(port, count, sizes.users))
    return run, [launch_request(port, platform.id_token(u, n), s) for u, s, n in made]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--profile", help="cProfile the server process into this file")
    args = parser.parse_args()
    sizes = QUICK if args.quick else Sizes()
    with tempfile.TemporaryDirectory(prefix="bench-lti-") as folder:
        server = EmbeddedNatsServer(Path(folder) / "nats")
        server.start()
        config = kit.HubConfig(
            data_dir=folder,
            nats_url=server.url,
            stream_prefix="bench",
            database_url=f"sqlite:///{folder}/read.sqlite3",
            port=kit.free_port(),
            admin_token="bench-admin-token-0123456789abcdef",
            log_level="WARNING",
        )
        platform = Platform()
        runtime = build_runtime(config.settings(), server.url)
        runtime.hub.register_tenant(TENANT, "Bench", runtime.box)
        register_platform(
            runtime.hub,
            TENANT,
            PlatformRegistrationIn(
                name="Bench LMS",
                issuer=ISSUER,
                client_id=CLIENT_ID,
                deployment_ids=[DEPLOYMENT],
                auth_login_url=f"{platform.url}/auth",  # type: ignore[arg-type]
                auth_token_url=f"{platform.url}/token",  # type: ignore[arg-type]
                jwks_url=f"{platform.url}/jwks",  # type: ignore[arg-type]
                allowed_hosts=["127.0.0.1"],
            ),
        )
        # The bench measures the launch path (the limiter's count included), not the limit.
        set_limits(runtime.hub, TENANT, RateLimitsIn(tenant=NO_LIMIT, client=NO_LIMIT))
        process = kit.start_process(profiled(kit.serve_hub, args.profile), config)
        try:
            kit.wait_ready(config.port)
            port = config.port
            # Warm up: every learner launches once (first launches register them).
            _, warm = prepare(port, platform, sizes, sizes.users)
            asyncio.run(kit.fixed_count(8, len(warm), _sender(warm), port))
            login_run, flat = prepare(port, platform, sizes, sizes.launches)
            flat_run = asyncio.run(kit.fixed_count(sizes.clients, len(flat), _sender(flat), port))
            rate = max(1.0, flat_run.summary()["per_second"] / 2)
            count = int(rate * sizes.rate_seconds) + 2 * sizes.clients  # the schedule's ends
            _, paced = prepare(port, platform, sizes, count)
            paced_iter = iter(paced)
            rate_run = asyncio.run(
                kit.open_loop(
                    sizes.clients, rate, sizes.rate_seconds, lambda: next(paced_iter), port
                )
            )
        finally:
            kit.stop_process(process)
            runtime.hub.close()
            NatsConnection.close_all()
            server.stop()
    report(sizes, login_run, flat_run, rate_run, rate)


def _sender(requests: list[bytes]) -> Any:
    async def one(connection: kit.Connection, i: int) -> int:
        status, _ = await connection.send(requests[i])
        return status

    return one


def report(sizes: Sizes, login: kit.Run, flat: kit.Run, paced: kit.Run, rate: float) -> None:
    results = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": __import__("os").cpu_count(), "python": host.python_version()},
        "sizes": vars(sizes),
        "login": login.summary(),
        "launch_flat_out": flat.summary(),
        "launch_at_half_rate": {**paced.summary(), "offered_per_second": round(rate, 1)},
        "goals": GOALS,
    }
    p95 = results["launch_at_half_rate"]["p95_ms"]
    verdict = "met" if p95 is not None and p95 < GOALS["launch_p95_ms_max"] else "missed"
    print("| phase | requests | per second | p50 ms | p95 ms | p99 ms | statuses |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in ("login", "launch_flat_out", "launch_at_half_rate"):
        s = results[name]
        print(
            f"| {name} | {s['requests']} | {s['per_second']} | {s['p50_ms']} | {s['p95_ms']} "
            f"| {s['p99_ms']} | {s['statuses']} |"
        )
    goal = GOALS["launch_p95_ms_max"]
    print(f"\nlaunch p95 < {goal} ms (32 clients, half rate): {p95} ms, {verdict}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    (out / f"lti_tool-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
