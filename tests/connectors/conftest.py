"""Real parts for the connector tests: the hub on fresh streams, a loopback file server, blobs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from hub.application import Hub
from hub.bootstrap import eventsourcing_env
from infra.blobs import FolderBlobStore
from infra.nats_client import NatsConnection
from infra.settings import Settings
from tests.connectors.file_server import FileServer, file_server
from tests.connectors.world import Logs


@pytest.fixture
def env(tmp_path: Path, nats_url: str, stream_prefix: str) -> Iterator[dict[str, str]]:
    """The applications' environment on fresh streams; the lease bucket is deleted after."""
    settings = Settings(data_dir=tmp_path, stream_prefix=stream_prefix)
    yield {**eventsourcing_env(settings, nats_url), "HUB_DATA_DIR": str(tmp_path)}
    connection = NatsConnection.shared(nats_url)
    js = connection.client.jetstream()
    with suppress(Exception):
        connection.run(lambda: js.delete_key_value(f"{stream_prefix}_leases"), timeout=10)


@pytest.fixture
def hub(env: dict[str, str]) -> Iterator[Hub]:
    app = Hub(env=env)
    yield app
    app.close()


@pytest.fixture
def logs(env: dict[str, str]) -> Iterator[Logs]:
    readers = Logs(env)
    yield readers
    readers.close()


@pytest.fixture
def blobs(tmp_path: Path) -> FolderBlobStore:
    """Where `HUB_DATA_DIR` puts them too (`<data dir>/blobs`)."""
    return FolderBlobStore(tmp_path / "blobs")


@pytest.fixture
def files() -> Iterator[FileServer]:
    with file_server() as server:
        yield server
