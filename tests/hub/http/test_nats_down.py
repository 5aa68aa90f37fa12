"""NATS killed under a running app: probes and writes answer 503 at once, then it recovers alone."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from hub.bootstrap import build_runtime
from hub.http import create_app, runtime_readiness
from infra.nats_client import NatsConnection
from infra.nats_server import EmbeddedNatsServer
from infra.settings import Settings
from infra.sql import make_engine
from tests.hub.http.conftest import ADMIN_TOKEN, admin
from tests.hub.http.live_server import live_server

# Each request is bounded well below what a hang would take; no assertion is on timing.
QUICK = httpx.Timeout(5.0)


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[list[EmbeddedNatsServer]]:
    """A nats-server of this test alone (it is killed); the list holds its successor too."""
    servers = [EmbeddedNatsServer(tmp_path / "nats")]
    servers[0].start()
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def app_on_own_nats(own_nats: list[EmbeddedNatsServer], tmp_path: Path) -> Iterator[FastAPI]:
    url = own_nats[0].url
    runtime = build_runtime(Settings(data_dir=tmp_path, stream_prefix="down"), url)
    engine = make_engine(f"sqlite:///{tmp_path / 'read.sqlite3'}")
    app = create_app(runtime, readiness=runtime_readiness(runtime, engine), admin_token=ADMIN_TOKEN)
    yield app
    runtime.hub.close()
    engine.dispose()
    NatsConnection.shared(url).close()  # the existing connection: closed before the server stops


def eventually(
    probe: Callable[[], httpx.Response], status: int, within: float = 20.0
) -> httpx.Response:
    deadline = time.monotonic() + within
    while True:
        response = probe()
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_nats_down_answers_503_at_once_and_the_hub_reconnects_by_itself(
    own_nats: list[EmbeddedNatsServer], app_on_own_nats: FastAPI
) -> None:
    with live_server(app_on_own_nats) as base, httpx.Client(base_url=base, timeout=QUICK) as http:
        assert http.get("/readyz").status_code == 200
        before = http.post(
            "/api/v1/admin/tenants",
            headers=admin(),
            json={"slug": "before", "name": "Before the crash"},
        )
        assert before.status_code == 201

        old = own_nats[0]
        old.kill()

        ready = http.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["content-type"] == "application/problem+json"
        assert ready.json()["checks"]["nats"]["status"] == "down"
        assert ready.json()["detail"].startswith("nats: ")

        write = http.post(
            "/api/v1/admin/tenants",
            headers=admin(),
            json={"slug": "during", "name": "During the outage"},
        )
        assert write.status_code == 503
        assert write.headers["content-type"] == "application/problem+json"
        assert write.json()["type"] == "https://hub.example/problems/nats-unavailable"
        assert int(write.headers["retry-after"]) > 0

        own_nats.append(EmbeddedNatsServer(old.data_dir, port=old.port))
        own_nats[-1].start()

        assert eventually(lambda: http.get("/readyz"), 200).status_code == 200
        after = http.post(
            "/api/v1/admin/tenants",
            headers=admin(),
            json={"slug": "during", "name": "During the outage"},
        )
        assert after.status_code == 201
        assert after.json()["position"] > before.json()["position"]
        kept = http.get("/api/v1/admin/tenants/before", headers=admin())
        assert kept.status_code == 200  # what was acknowledged before the crash survived it
