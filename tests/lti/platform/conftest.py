"""The hub as LTI platform on real parts, shared by a module: nats-server, uvicorn, httpx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from hub.bootstrap import Runtime, build_runtime
from hub.http import create_app, runtime_readiness
from infra.settings import Settings
from infra.sql import make_engine
from tests.conftest import drop_streams, new_prefix
from tests.hub.http.conftest import ADMIN_TOKEN
from tests.hub.http.live_server import live_server


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lti")


@pytest.fixture(scope="module")
def runtime(nats_url: str, module_dir: Path) -> Iterator[Runtime]:
    prefix = new_prefix()
    built = build_runtime(Settings(data_dir=module_dir, stream_prefix=prefix), nats_url)
    for tenant in ("acme", "beta"):
        built.hub.register_tenant(tenant, tenant.title(), built.box)
    yield built
    built.hub.close()
    drop_streams(nats_url, prefix)


@pytest.fixture(scope="module")
def app(runtime: Runtime, module_dir: Path) -> Iterator[FastAPI]:
    engine = make_engine(f"sqlite:///{module_dir / 'read.sqlite3'}")
    yield create_app(runtime, readiness=runtime_readiness(runtime, engine), admin_token=ADMIN_TOKEN)
    engine.dispose()


@pytest.fixture(scope="module")
def base_url(app: FastAPI) -> Iterator[str]:
    with live_server(app) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as made:
        yield made
