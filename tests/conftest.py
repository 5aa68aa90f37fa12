"""Real parts for the tests: a nats-server from the bundled binary, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.jetstream.factory import forget_streams, wire_for
from infra.jetstream.subjects import stream_configs
from infra.nats_client import NatsConnection
from infra.nats_server import EmbeddedNatsServer


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNatsServer]:
    server = EmbeddedNatsServer(tmp_path_factory.mktemp("nats"))
    server.start()
    yield server
    NatsConnection.close_all()
    server.stop()


@pytest.fixture(scope="session")
def nats_url(nats_server: EmbeddedNatsServer) -> str:
    return nats_server.url


def new_prefix() -> str:
    return "t" + secrets.token_hex(5)


def drop_streams(url: str, prefix: str) -> None:
    connection = NatsConnection.shared(url)
    wire = wire_for(connection)
    for config in stream_configs(prefix):
        name = str(config["name"])
        connection.run(lambda n=name: wire.delete_stream(n), timeout=10)
    forget_streams(connection, prefix)


@pytest.fixture
def stream_prefix(nats_url: str) -> Iterator[str]:
    """A fresh set of streams for one test, deleted after it."""
    prefix = new_prefix()
    yield prefix
    try:
        _check_event_payloads(nats_url, prefix)
    finally:
        drop_streams(nats_url, prefix)


def _check_event_payloads(nats_url: str, prefix: str) -> None:
    """Every event the test stored conforms to its type's JSON Schema (schemas/events/)."""
    from tests.event_payloads import check_stored_events  # noqa: PLC0415 - jsonschema: tests only

    checked = check_stored_events(nats_url, prefix)
    assert not checked.problems, "events that break their JSON Schema:\n" + "\n".join(
        sorted(set(checked.problems))[:20]
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite on a file, and PostgreSQL when HUB_TEST_DATABASE_URL is set (CI sets it)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    url = os.environ.get("HUB_TEST_DATABASE_URL")
    if not url:
        pytest.skip("HUB_TEST_DATABASE_URL is not set: PostgreSQL path not tested here")
    return url
