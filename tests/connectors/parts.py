"""The real parts several test folders open the same way: the applications' environment on
fresh streams (its lease bucket deleted after), and the `hub` and `logs` fixtures on it
(a folder's conftest imports them by name)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from hub.application import Hub
from hub.bootstrap import eventsourcing_env
from infra.nats_client import NatsConnection
from infra.settings import Settings
from tests.connectors.world import Logs


def hub_env(tmp_path: Path, nats_url: str, stream_prefix: str) -> dict[str, str]:
    """The applications' environment on fresh streams, with `tmp_path` as the data folder."""
    settings = Settings(data_dir=tmp_path, stream_prefix=stream_prefix)
    return {**eventsourcing_env(settings, nats_url), "HUB_DATA_DIR": str(tmp_path)}


def delete_leases(nats_url: str, stream_prefix: str) -> None:
    """Delete the lease bucket of `stream_prefix` (absent already: nothing to do)."""
    connection = NatsConnection.shared(nats_url)
    js = connection.client.jetstream()
    with suppress(Exception):
        connection.run(lambda: js.delete_key_value(f"{stream_prefix}_leases"), timeout=10)


@pytest.fixture
def hub(env: dict[str, str]) -> Iterator[Hub]:
    """The hub on the folder's `env`."""
    app = Hub(env=env)
    yield app
    app.close()


@pytest.fixture
def logs(env: dict[str, str]) -> Iterator[Logs]:
    """Readers of the logs on the folder's `env`."""
    readers = Logs(env)
    yield readers
    readers.close()
