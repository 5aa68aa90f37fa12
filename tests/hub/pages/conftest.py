"""The pages on real parts: the Spark ingress's fixtures (nats-server, uvicorn, httpx)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from tests.hub.pages.site import Site, running_site
from tests.hub.spark.conftest import acme, app, beta, client, readiness, runtime
from tests.projections.conftest import fresh_database

__all__ = ["acme", "app", "beta", "client", "readiness", "runtime"]


@pytest.fixture(scope="module")
def site(nats_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One running hub per test module (its tests use their own learners); its read models
    on PostgreSQL when HUB_TEST_DATABASE_URL is set (as in CI), else on SQLite."""
    folder = tmp_path_factory.mktemp("site")
    base = os.environ.get("HUB_TEST_DATABASE_URL")
    if base is None:
        with running_site(nats_url, folder) as made:
            yield made
        return
    databases = fresh_database(base, folder)
    try:
        with running_site(nats_url, folder, next(databases)()) as made:
            yield made
    finally:
        next(databases, None)  # drops the schema


@pytest.fixture(scope="module")
def http(site: Site) -> Iterator[httpx.Client]:
    """An HTTP client of the module's hub."""
    with httpx.Client(base_url=site.url, timeout=30) as client:
        yield client
