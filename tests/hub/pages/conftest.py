"""The pages on real parts: the Spark ingress's fixtures (nats-server, uvicorn, httpx)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.hub.pages.site import Site, running_site
from tests.hub.spark.conftest import acme, app, beta, client, readiness, runtime

__all__ = ["acme", "app", "beta", "client", "readiness", "runtime"]


@pytest.fixture(scope="module")
def site(nats_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One running hub per test module (its tests use their own learners)."""
    with running_site(nats_url, tmp_path_factory.mktemp("site")) as made:
        yield made


@pytest.fixture(scope="module")
def http(site: Site) -> Iterator[httpx.Client]:
    """An HTTP client of the module's hub."""
    with httpx.Client(base_url=site.url, timeout=30) as client:
        yield client
