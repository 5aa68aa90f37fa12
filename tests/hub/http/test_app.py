"""How the app is put together: the admin token's source, shutdown hooks, `build_http_app`."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
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


def test_the_package_exports_what_it_says() -> None:
    import hub.http  # noqa: PLC0415

    public = {name for name in vars(hub.http) if not name.startswith("_")}
    modules = {
        "app",
        "admin",
        "deps",
        "health",
        "lean_route",
        "middleware",
        "problems",
        "readiness",
        "spark_admin",
        "badges_admin",
        "ratelimit",
    }
    assert set(hub.http.__all__) == public - modules
