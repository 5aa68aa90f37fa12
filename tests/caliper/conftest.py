"""Real parts for the Caliper tests: the hub on fresh streams, the Caliper stream, the hub's key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from connectors.caliper_stream import CaliperStream
from hub.application import Hub
from hub.bootstrap import eventsourcing_env
from infra.nats_client import NatsConnection
from infra.settings import Settings
from tests.caliper.endpoint import FakeEndpoint, serve
from tests.caliper.world import KEY_TEXT
from tests.connectors.world import Logs


@pytest.fixture
def env(tmp_path: Path, nats_url: str, stream_prefix: str) -> Iterator[dict[str, str]]:
    """The applications' environment on fresh streams, with the hub's key in the data folder."""
    (tmp_path / "secret.key").write_text(KEY_TEXT)
    settings = Settings(data_dir=tmp_path, stream_prefix=stream_prefix)
    env = {**eventsourcing_env(settings, nats_url), "HUB_DATA_DIR": str(tmp_path)}
    yield env
    with suppress(Exception):
        CaliperStream(env).delete()
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
