"""Readiness checks are bounded: a check that hangs makes the hub not ready, never a hung probe."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hub.bootstrap import Runtime
from hub.http import Readiness, create_app
from tests.hub.http.live_server import live_server


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # lets the abandoned check thread end


def test_a_check_that_hangs_is_reported_down_without_hanging_the_probe(
    runtime: Runtime, readiness: Readiness, release: threading.Event
) -> None:
    def hangs() -> dict[str, Any]:
        release.wait(30)
        return {}

    readiness.database = hangs
    readiness.timeout = 0.3
    with live_server(create_app(runtime, readiness=readiness)) as url:
        response = httpx.get(f"{url}/readyz", timeout=5)
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "down"
    assert checks["database"]["error"] == "no answer within 0.3s"
    assert checks["nats"]["status"] == "ok"


def test_a_projection_status_source_that_fails_makes_the_hub_not_ready(
    runtime: Runtime, readiness: Readiness
) -> None:
    def fails() -> list[dict[str, Any]]:
        msg = "tracking table missing"
        raise LookupError(msg)

    readiness.projections = fails
    with live_server(create_app(runtime, readiness=readiness)) as url:
        response = httpx.get(f"{url}/readyz", timeout=5)
    assert response.status_code == 503
    body = response.json()
    assert body["detail"] == "projections: failed (LookupError)"
    assert body["checks"]["projections"] == []
    assert "tracking table missing" not in response.text
