"""Real parts for the Caliper tests: the hub on fresh streams, the Caliper stream, the hub's key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from connectors.caliper_stream import CaliperStream
from tests.caliper.endpoint import FakeEndpoint, serve
from tests.caliper.world import KEY_TEXT
from tests.connectors.parts import delete_leases, hub, hub_env, logs  # noqa: F401 (fixtures, found by name)


@pytest.fixture
def env(tmp_path: Path, nats_url: str, stream_prefix: str) -> Iterator[dict[str, str]]:
    """The applications' environment on fresh streams, with the hub's key in the data folder."""
    (tmp_path / "secret.key").write_text(KEY_TEXT)
    env = hub_env(tmp_path, nats_url, stream_prefix)
    yield env
    with suppress(Exception):
        CaliperStream(env).delete()
    delete_leases(nats_url, stream_prefix)


@pytest.fixture
def stream(env: dict[str, str]) -> CaliperStream:
    return CaliperStream(env)


@pytest.fixture
def endpoint() -> FakeEndpoint:
    return FakeEndpoint()


@pytest.fixture
def url(endpoint: FakeEndpoint) -> Iterator[str]:
    """The fake endpoint's `/caliper` URL on loopback."""
    with serve(endpoint) as address:
        yield address
