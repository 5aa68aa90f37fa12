"""The LTI tool's test world (`tests/lti/tool`): a hub on uvicorn launched by a platform of
the tests' own, shared by the module; with the `caliper` emitter following its log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from connectors.caliper_emitter import SPEC
from connectors.caliper_stream import CaliperStream
from hub.bootstrap import Runtime, eventsourcing_env
from hub.caliper.settings import CaliperConfig, configure_caliper
from tests.connectors.world import running
from tests.lti.tool.conftest import (  # noqa: F401 - the tool's world, as fixtures here
    app,
    client,
    hub_url,
    module_dir,
    other,
    platform,
    runtime,
)


@pytest.fixture(scope="module")
def caliper_env(request: pytest.FixtureRequest, nats_url: str) -> Iterator[dict[str, str]]:
    """The emitter's environment: the world's streams and key; "acme" shows names, "beta"
    is pseudonymous. The emitter runs for the module."""
    built: Runtime = request.getfixturevalue("runtime")
    folder: Path = request.getfixturevalue("module_dir")
    env = {**eventsourcing_env(built.settings, nats_url), "HUB_DATA_DIR": str(folder)}
    configure_caliper(built.hub, built.box, "acme", CaliperConfig(enabled=True))
    beta = CaliperConfig(enabled=True, pseudonymous=True)
    configure_caliper(built.hub, built.box, "beta", beta)
    with running(SPEC, env=env):
        yield env
    with suppress(Exception):
        CaliperStream(env).delete()


@pytest.fixture(scope="module")
def stream(caliper_env: dict[str, str]) -> CaliperStream:
    return CaliperStream(caliper_env)
