"""The hub as LTI platform on real parts, shared by a module: nats-server, uvicorn, httpx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from hub.bootstrap import Runtime, build_runtime, eventsourcing_env
from hub.http import create_app, runtime_readiness
from hub.lti.platform.install import set_lti_readers
from infra.settings import Settings
from infra.sql import make_engine
from projections import registry
from projections.gradebook import lti_readers
from projections.portfolio import wait_for as portfolio_wait_for
from tests.conftest import drop_streams, new_prefix
from tests.hub.http.conftest import ADMIN_TOKEN
from tests.hub.http.live_server import live_server
from tests.lti.platform.oauth import claims_for, request_token, sign, token_url
from tests.lti.platform.pylti_tool import new_key, public_jwk
from tests.lti.platform.world import World, register_tool, seed_world
from tests.projections.helpers import running


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lti")


@pytest.fixture(scope="module")
def runtime(nats_url: str, module_dir: Path) -> Iterator[Runtime]:
    prefix = new_prefix()
    built = build_runtime(Settings(data_dir=module_dir, stream_prefix=prefix), nats_url)
    for tenant in ("acme", "beta"):
        built.hub.register_tenant(tenant, tenant.title(), built.box)
    yield built
    built.hub.close()
    drop_streams(nats_url, prefix)


@pytest.fixture(scope="module")
def app(runtime: Runtime, module_dir: Path) -> Iterator[FastAPI]:
    engine = make_engine(f"sqlite:///{module_dir / 'read.sqlite3'}")
    yield create_app(runtime, readiness=runtime_readiness(runtime, engine), admin_token=ADMIN_TOKEN)
    engine.dispose()


@pytest.fixture(scope="module")
def base_url(app: FastAPI) -> Iterator[str]:
    with live_server(app) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as made:
        yield made


@pytest.fixture(scope="module")
def read_engine(module_dir: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{module_dir / 'hub.sqlite3'}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def projections(
    runtime: Runtime, app: FastAPI, read_engine: Engine, nats_url: str, module_dir: Path
) -> Iterator[Engine]:
    """The portfolio (NRPS reads its enrolments) and the gradebook, running for the module."""
    env = eventsourcing_env(runtime.settings, nats_url)
    url = f"sqlite:///{module_dir / 'hub.sqlite3'}"
    set_lti_readers(app, *lti_readers(read_engine))
    with running(registry.get("portfolio"), env, url), running(registry.get("gradebook"), env, url):
        yield read_engine


@pytest.fixture(scope="module")
def world(client: httpx.Client, runtime: Runtime, projections: Engine) -> World:
    made = seed_world(client, runtime, "acme")
    portfolio_wait_for(projections, {"hub": made.last_position}, timeout=30)
    return made


@pytest.fixture(scope="module")
def beta_token(client: httpx.Client, runtime: Runtime, world: World) -> str:
    """A valid access token of tenant beta (its own tool), to try on acme."""
    key = new_key()
    registered = register_tool(client, "beta", public_jwk=public_jwk(key))
    client_id = registered["client_id"]
    claims = claims_for(
        world,
        iss=client_id,
        sub=client_id,
        aud=token_url(world, "beta"),
    )
    response = request_token(world, sign(claims, key), tenant="beta")
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token
