"""How the app is put together: the admin token's source, shutdown hooks, `build_http_app`."""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from hub.bootstrap import Runtime, build_runtime
from hub.http import Readiness, build_http_app, create_app
from infra.settings import Settings
from tests.hub.http.conftest import admin
from tests.hub.http.live_server import live_server


def test_the_admin_token_defaults_to_the_settings_one(
    nats_url: str, stream_prefix: str, tmp_path: Path, readiness: Readiness
) -> None:
    settings = Settings(
        data_dir=tmp_path, stream_prefix=stream_prefix, admin_token=SecretStr("from-settings-token")
    )
    runtime = build_runtime(settings, nats_url)
    try:
        with live_server(create_app(runtime, readiness=readiness)) as url:
            right = httpx.get(
                f"{url}/api/v1/admin/tenants/nobody", headers=admin("from-settings-token")
            )
            wrong = httpx.get(f"{url}/api/v1/admin/tenants/nobody", headers=admin("other"))
    finally:
        runtime.hub.close()
    assert right.status_code == 404
    assert wrong.status_code == 401


def test_without_any_admin_token_the_admin_api_is_closed(
    runtime: Runtime, readiness: Readiness
) -> None:
    with live_server(create_app(runtime, readiness=readiness)) as url:
        response = httpx.get(f"{url}/api/v1/admin/tenants/nobody", headers=admin("any-token"))
    assert response.status_code == 401
    assert "disabled" in response.json()["detail"]


def test_shutdown_hooks_run_when_the_server_stops(runtime: Runtime, readiness: Readiness) -> None:
    closed = threading.Event()
    with live_server(create_app(runtime, readiness=readiness, on_shutdown=[closed.set])):
        assert not closed.is_set()
    assert closed.is_set()


@dataclass(frozen=True)
class Status:
    name: str
    position: int
    head: int
    lag: int


def test_build_http_app_reports_the_projection_statuses_it_is_given(runtime: Runtime) -> None:
    seen: list[Any] = []

    def statuses(hub_app: Any, engine: Any) -> list[Status]:
        seen.append((hub_app, engine.dialect.name))
        return [Status("event_counts", position=3, head=3, lag=0)]

    with live_server(build_http_app(runtime, projection_statuses=statuses)) as url:
        response = httpx.get(f"{url}/readyz", timeout=10)
    assert response.status_code == 200
    assert response.json()["checks"]["projections"] == [
        {"name": "event_counts", "position": 3, "head": 3, "lag": 0}
    ]
    assert seen[0] == (runtime.hub, "sqlite")
    assert (runtime.settings.data_dir / "hub.sqlite3").exists()


def test_the_package_exports_what_it_says_and_loads_the_app_only_when_asked() -> None:
    import hub.http  # noqa: PLC0415

    assert sorted(hub.http.__all__) == hub.http.__all__
    for name in hub.http.__all__:
        assert getattr(hub.http, name) is not None, name
    with pytest.raises(AttributeError):
        _ = hub.http.no_such_name
    # A feature module that needs a small part of the package (a limiter, the problems)
    # imports without pulling in the app, which imports every feature: no cycle.
    probe = (
        "import sys, hub.http.ratelimit, hub.spark.ratelimit, hub.pages, hub.quests.routes; "
        "print('hub.http.app' in sys.modules)"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", "import hub.http, sys; print('hub.http.app' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False"
    features = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True
    )
    assert features.returncode == 0, features.stderr
