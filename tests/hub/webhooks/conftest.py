"""The webhooks API on real parts: the app on loopback, the connectors on the same streams."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.connectors.parts import delete_leases, hub_env
from tests.hub.http.conftest import (  # noqa: F401 (fixtures, found by name)
    app,
    base_url,
    client,
    engine,
    readiness,
    runtime,
)


@pytest.fixture
def env(tmp_path: Path, nats_url: str, stream_prefix: str) -> Iterator[dict[str, str]]:
    """The connectors' environment on the app's streams and data folder (its key)."""
    yield hub_env(tmp_path, nats_url, stream_prefix)
    delete_leases(nats_url, stream_prefix)
