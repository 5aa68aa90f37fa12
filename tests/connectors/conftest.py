"""Real parts for the connector tests: the hub on fresh streams, a loopback file server, blobs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.blobs import FolderBlobStore
from tests.connectors.file_server import FileServer, file_server
from tests.connectors.parts import delete_leases, hub, hub_env, logs  # noqa: F401 (fixtures, found by name)


@pytest.fixture
def env(tmp_path: Path, nats_url: str, stream_prefix: str) -> Iterator[dict[str, str]]:
    """The applications' environment on fresh streams; the lease bucket is deleted after."""
    yield hub_env(tmp_path, nats_url, stream_prefix)
    delete_leases(nats_url, stream_prefix)


@pytest.fixture
def blobs(tmp_path: Path) -> FolderBlobStore:
    """Where `HUB_DATA_DIR` puts them too (`<data dir>/blobs`)."""
    return FolderBlobStore(tmp_path / "blobs")


@pytest.fixture
def files() -> Iterator[FileServer]:
    with file_server() as server:
        yield server
