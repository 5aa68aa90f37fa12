"""Databases for the projection tests: a fresh SQLite file or PostgreSQL schema each."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from hub.bootstrap import Runtime, build_runtime, eventsourcing_env
from infra.settings import Settings
from infra.sql import make_engine
from tests.connectors.parts import (
    delete_leases,
    logs,  # noqa: F401 (a fixture, found by name)
)
from tests.projections.portfolio_world import ProgressLog, World

NewDatabase = Callable[[], str]


def fresh_database(base_url: str, tmp_path: Path) -> Iterator[NewDatabase]:
    """Yields a maker of isolated database URLs like `base_url`; drops them afterwards."""
    made: list[str] = []
    admin: list[Engine] = []

    def new() -> str:
        name = "t" + secrets.token_hex(5)
        if base_url.startswith("sqlite"):
            url = f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
        else:
            if not admin:
                admin.append(make_engine(base_url))
            with admin[0].begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{name}"'))
            made.append(name)
            separator = "&" if "?" in base_url else "?"
            url = f"{base_url}{separator}options=-csearch_path%3D{name}"
        return url

    yield new
    for engine in admin:
        with engine.begin() as conn:
            for name in made:
                conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        engine.dispose()


@pytest.fixture
def new_database(database_url: str, tmp_path: Path) -> Iterator[NewDatabase]:
    yield from fresh_database(database_url, tmp_path)


@pytest.fixture
def sql_url(new_database: NewDatabase) -> str:
    return new_database()


@pytest.fixture
def engine(sql_url: str) -> Iterator[Engine]:
    engine = make_engine(sql_url)
    yield engine
    engine.dispose()


@pytest.fixture
def runtime(tmp_path: Path, nats_url: str, stream_prefix: str) -> Iterator[Runtime]:
    """The hub on fresh streams; its lease bucket is deleted afterwards."""
    settings = Settings(data_dir=tmp_path, stream_prefix=stream_prefix)
    runtime = build_runtime(settings, nats_url)
    yield runtime
    runtime.hub.close()
    delete_leases(nats_url, stream_prefix)


@pytest.fixture
def env(runtime: Runtime) -> dict[str, str]:
    return eventsourcing_env(runtime.settings, runtime.nats_url)


@pytest.fixture
def world(runtime: Runtime, env: dict[str, str]) -> Iterator[World]:
    """The hub and the progress log the projection tests record on."""
    progress = ProgressLog(env)
    yield World(runtime.hub, progress)
    progress.close()
