"""Running `hub` admin commands in the tests: the environment, fresh runtimes, event contexts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from hub.bootstrap import Runtime, build_runtime
from hub.cli.main import app
from infra.settings import Settings

Opener = Callable[[], Runtime]


@pytest.fixture
def cli_env(nats_url: str, stream_prefix: str, tmp_path: Path) -> dict[str, str]:
    return {
        "HUB_NATS_URL": nats_url,
        "HUB_STREAM_PREFIX": stream_prefix,
        "HUB_DATA_DIR": str(tmp_path),
    }


@pytest.fixture
def open_runtime(nats_url: str, stream_prefix: str, tmp_path: Path) -> Iterator[Opener]:
    """A new runtime on each call: a command closes the process's shared NATS connection."""
    built: list[Runtime] = []

    def opener() -> Runtime:
        made = build_runtime(Settings(data_dir=tmp_path, stream_prefix=stream_prefix), nats_url)
        built.append(made)
        return made

    yield opener
    for made in built:
        made.hub.close()


def hub(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run `hub ARGS`; its logging configuration (bound to the runner's closed stderr) is
    undone after, so the process's later log lines still have somewhere to go."""
    saved = structlog.get_config()
    try:
        result = CliRunner().invoke(app, list(args), env=env)
    finally:
        structlog.configure(**saved)
    return result.exit_code, result.output


def contexts(runtime: Runtime, aggregate_id: str) -> list[tuple[str, str, str]]:
    """(event, source, verified_by) of each event of the aggregate."""
    return [
        (type(e).__qualname__, e.context["source"], e.context["verified_by"])
        for e in runtime.hub.repository.event_store.get(aggregate_id)
    ]
