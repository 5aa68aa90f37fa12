"""The Spark ingress on real parts: the session's nats-server, uvicorn on loopback, httpx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from hub.bootstrap import Runtime, build_runtime
from hub.http import Readiness, create_app, runtime_readiness
from hub.spark.connection import connect_spark
from infra.settings import Settings
from infra.sql import make_engine
from tests.hub.http.conftest import ADMIN_TOKEN
from tests.hub.http.live_server import live_server
from tests.hub.spark.signals import Partner


@pytest.fixture
def runtime(nats_url: str, stream_prefix: str, tmp_path: Path) -> Iterator[Runtime]:
    built = build_runtime(Settings(data_dir=tmp_path, stream_prefix=stream_prefix), nats_url)
    yield built
    built.hub.close()


@pytest.fixture
def readiness(runtime: Runtime, tmp_path: Path) -> Iterator[Readiness]:
    engine = make_engine(f"sqlite:///{tmp_path / 'read.sqlite3'}")
    yield runtime_readiness(runtime, engine)
    engine.dispose()


@pytest.fixture
def app(runtime: Runtime, readiness: Readiness) -> FastAPI:
    return create_app(runtime, readiness=readiness, admin_token=ADMIN_TOKEN)


@pytest.fixture
def client(app: FastAPI) -> Iterator[httpx.Client]:
    with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as made:
        yield made


def connect(runtime: Runtime, tenant: str, **options: object) -> Partner:
    runtime.hub.register_tenant(tenant, tenant.title(), runtime.box)
    made = connect_spark(runtime.hub, runtime.box, tenant, "https://spark.example/api", **options)  # type: ignore[arg-type]
    return Partner(tenant, made.sso_secret, made.webhook_secret)


@pytest.fixture
def acme(runtime: Runtime) -> Partner:
    return connect(runtime, "acme")


@pytest.fixture
def beta(runtime: Runtime) -> Partner:
    return connect(runtime, "beta")
