"""The family's commands and routes on real parts: the session's nats-server, a database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.bootstrap import Runtime, build_runtime
from infra.settings import Settings


@pytest.fixture
def runtime(nats_url: str, stream_prefix: str, tmp_path: Path) -> Iterator[Runtime]:
    built = build_runtime(Settings(data_dir=tmp_path, stream_prefix=stream_prefix), nats_url)
    yield built
    built.hub.close()
