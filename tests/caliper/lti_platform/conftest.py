"""The LTI platform's test world (`tests/lti/platform`): a hub on uvicorn with a Spark quest,
its people and a pylti1p3 tool on a graded link, shared by the module; with the `caliper`
emitter following its log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import httpx
import pytest

from connectors.caliper_emitter import SPEC
from connectors.caliper_stream import CaliperStream
from hub.bootstrap import Runtime, eventsourcing_env
from hub.caliper.settings import CaliperConfig, configure_caliper
from tests.connectors.world import running
from tests.lti.platform.conftest import (  # noqa: F401 - the platform's world, as fixtures here
    app,
    base_url,
    client,
    module_dir,
    runtime,
)
from tests.lti.platform.world import World, seed_world


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest) -> World:
    """The platform's world without its read models (a launch needs none)."""
    built: Runtime = request.getfixturevalue("runtime")
    http: httpx.Client = request.getfixturevalue("client")
    return seed_world(http, built, "acme")


@pytest.fixture(scope="module")
def stream(request: pytest.FixtureRequest, nats_url: str) -> Iterator[CaliperStream]:
    """The Caliper stream, fed by the emitter for the module ("acme" shows names)."""
    built: Runtime = request.getfixturevalue("runtime")
    folder: Path = request.getfixturevalue("module_dir")
    env = {**eventsourcing_env(built.settings, nats_url), "HUB_DATA_DIR": str(folder)}
    configure_caliper(built.hub, built.box, "acme", CaliperConfig(enabled=True))
    with running(SPEC, env=env):
        yield CaliperStream(env)
    with suppress(Exception):
        CaliperStream(env).delete()
