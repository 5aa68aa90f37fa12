"""The HTTP app on real parts: the session's nats-server, a database, uvicorn on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from hub.bootstrap import Runtime, build_runtime
from hub.http import Readiness, create_app, runtime_readiness
from infra.settings import Settings
from infra.sql import make_engine
from tests.hub.http.live_server import live_server

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"


def admin(token: str = ADMIN_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def runtime(nats_url: str, stream_prefix: str, tmp_path: Path) -> Iterator[Runtime]:
    built = build_runtime(Settings(data_dir=tmp_path, stream_prefix=stream_prefix), nats_url)
    yield built
    built.hub.close()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """SQLite for the tests that are not about the database (those use `database_url`)."""
    made = make_engine(f"sqlite:///{tmp_path / 'read.sqlite3'}")
    yield made
    made.dispose()


@pytest.fixture
def readiness(runtime: Runtime, engine: Engine) -> Readiness:
    return runtime_readiness(runtime, engine)


@pytest.fixture
def app(runtime: Runtime, readiness: Readiness) -> FastAPI:
    return create_app(runtime, readiness=readiness, admin_token=ADMIN_TOKEN)


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    with live_server(app) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as made:
        yield made
