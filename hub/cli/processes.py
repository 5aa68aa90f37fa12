"""What the `hub` commands do, behind the argument parsing."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
import typer

from hub.badges import ensure_demo_badges
from hub.bootstrap import Runtime, build_runtime, eventsourcing_env
from hub.endpoint import nats_endpoint
from hub.replay import ReplayFilter, replay, to_json_line
from infra.heap import settle_heap
from infra.nats_client import NatsConnection
from infra.settings import Settings

log = structlog.get_logger(__name__)


def as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-")
    return slug or "tenant"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def create_tenant(settings: Settings, nats_url: str, name: str, slug: str | None) -> None:
    from hub.application import TenantExistsError  # noqa: PLC0415

    runtime = build_runtime(settings, nats_url)
    try:
        tenant = runtime.hub.register_tenant(slug or slugify(name), name, runtime.box)
    except TenantExistsError as error:
        typer.echo(f"hub: {error}", err=True)
        raise typer.Exit(1) from error
    finally:
        NatsConnection.close_all()
    typer.echo(f"tenant {tenant.slug} created at log position {tenant.position}")
    typer.echo("These secrets are shown once; store them now:")
    typer.echo(f"  api key         {tenant.api_key}")
    typer.echo(f"  webhook secret  {tenant.webhook_secret}")


def print_replay(settings: Settings, nats_url: str, replay_filter: ReplayFilter) -> None:
    connection = NatsConnection.shared(nats_url, timeout=settings.nats_timeout_s)
    try:
        for record in replay(connection, settings.stream_prefix, replay_filter):
            typer.echo(to_json_line(record))
    finally:
        NatsConnection.close_all()


def ensure_admin_token(settings: Settings) -> str:
    """The admin token: HUB_ADMIN_TOKEN, or in development one kept in the data folder."""
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    settings.require_production_secrets()
    path = settings.data_dir / "admin.token"
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    _write_private(path, token)
    return token


def ensure_demo_tenant(runtime: Runtime) -> dict[str, Any] | None:
    """Register the demo tenant on first start; its secrets go to a private file once."""
    slug = runtime.settings.demo_tenant
    if not slug or runtime.hub.tenant(slug) is not None:
        return None
    tenant = runtime.hub.register_tenant(slug, "Demo School", runtime.box)
    secrets_out = {
        "tenant": tenant.slug,
        "api_key": tenant.api_key,
        "webhook_secret": tenant.webhook_secret,
    }
    _write_private(runtime.settings.data_dir / "demo-tenant.json", json.dumps(secrets_out))
    return secrets_out


def start_background(
    runtime: Runtime, stop: threading.Event, *, projections: bool, connectors: bool
) -> list[threading.Thread]:
    from connectors.registry import start_connectors  # noqa: PLC0415
    from projections.registry import start_projections  # noqa: PLC0415

    env = eventsourcing_env(runtime.settings, runtime.nats_url)
    threads: list[threading.Thread] = []
    if projections:
        threads += start_projections(env, runtime.settings.resolved_database_url, stop)
    if connectors:
        threads += start_connectors(env, stop)
    return threads


def serve_http(runtime: Runtime, admin_token: str) -> None:
    """Serve until SIGINT or SIGTERM (uvicorn handles both and returns)."""
    import uvicorn  # noqa: PLC0415

    from hub.http.app import build_http_app  # noqa: PLC0415
    from hub.http.coalescing import HubHttpProtocol  # noqa: PLC0415
    from projections import projection_statuses  # noqa: PLC0415
    from projections.gradebook import lti_readers  # noqa: PLC0415
    from projections.portfolio import portfolio  # noqa: PLC0415
    from projections.portfolio_pages import page_readers  # noqa: PLC0415

    http_app = build_http_app(
        runtime,
        admin_token=admin_token,
        projection_statuses=projection_statuses,
        portfolio=portfolio,
        lti_readers=lti_readers,
        pages=page_readers,
    )
    config = uvicorn.Config(
        http_app,
        host=runtime.settings.host,
        port=runtime.settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        http=HubHttpProtocol,
    )
    settle_heap()  # start-up done: full collections no longer walk it (infra/heap.py)
    # uvicorn shuts down gracefully, then re-raises the signal it caught: that is the
    # stop we asked for, and the caller cleans up.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run()


def _banner(runtime: Runtime, demo: dict[str, Any] | None) -> None:
    settings = runtime.settings
    base = f"http://{settings.host}:{settings.port}"
    lines = [
        "The hub is running.",
        f"  HTTP         {base}   (API docs {base}/docs, readiness {base}/readyz)",
        f"  NATS         {runtime.nats_url}   (bundled; data in {settings.data_dir / 'nats'})",
        f"  read models  {settings.resolved_database_url}",
        f"  admin token  in {settings.data_dir / 'admin.token'}",
    ]
    if settings.inbound_nats:
        lines.append(
            f"  inbound      {settings.stream_prefix}.inbound.<tenant>.spark.submission|roster"
            "   (NATS, docs/inbound-nats.md)"
        )
    if settings.demo_tenant:
        lines.append(
            f"  demo tenant  {settings.demo_tenant}   (secrets in "
            f"{settings.data_dir / 'demo-tenant.json'})"
        )
    if demo:
        lines.append(f"  demo api key {demo['api_key']}   (first start: shown once here)")
    lines.append("Press Ctrl-C to stop.")
    typer.echo("\n".join(lines))


def _stop_on_sigterm() -> None:
    """SIGTERM stops the hub as Ctrl-C does.

    uvicorn handles SIGTERM, shuts down, then re-raises it with the previous handler:
    with the default one the process would die before cleaning up (the bundled
    nats-server would be left running).
    """
    import signal  # noqa: PLC0415

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def run_embedded(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _stop_on_sigterm()
    with nats_endpoint(settings) as url:
        runtime = build_runtime(settings, url)
        demo = ensure_demo_tenant(runtime)
        ensure_demo_badges(runtime.hub, runtime.settings.demo_tenant)
        admin_token = ensure_admin_token(settings)
        stop = threading.Event()
        threads = start_background(runtime, stop, projections=True, connectors=True)
        _banner(runtime, demo)
        try:
            serve_http(runtime, admin_token)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
            NatsConnection.close_all()
    typer.echo("The hub stopped.")


def run_part(
    settings: Settings, *, http: bool = False, projections: bool = False, connectors: bool = False
) -> None:
    """One role of the production layout, against HUB_NATS_URL and HUB_DATABASE_URL."""
    if not settings.nats_url:
        typer.echo(
            "hub: set HUB_NATS_URL (a NATS 2.12+ cluster) to run the hub's parts "
            "separately; `hub run` runs them all on the bundled server",
            err=True,
        )
        raise typer.Exit(2)
    runtime = build_runtime(settings, settings.nats_url)
    stop = threading.Event()
    threads = start_background(runtime, stop, projections=projections, connectors=connectors)
    try:
        if http:
            serve_http(runtime, ensure_admin_token(settings))
        else:
            _wait_for_signal(stop)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        NatsConnection.close_all()


def _wait_for_signal(stop: threading.Event) -> None:
    import signal  # noqa: PLC0415

    def handle(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    while not stop.wait(0.5):
        pass


def print_projection_status(settings: Settings, nats_url: str) -> None:
    from projections.registry import status_rows  # noqa: PLC0415

    runtime = build_runtime(settings, nats_url)
    try:
        rows = status_rows(runtime.hub, settings.resolved_database_url)
    finally:
        NatsConnection.close_all()
    typer.echo(f"{'projection':<20} {'version':>7} {'position':>10} {'head':>10} {'lag':>8}")
    for row in rows:
        typer.echo(
            f"{row['name']:<20} {row['version']:>7} {row['position']:>10} "
            f"{row['head']:>10} {row['lag']:>8}"
        )


def rebuild_projections(settings: Settings, nats_url: str, names: list[str]) -> None:
    from projections.registry import rebuild_with_progress  # noqa: PLC0415

    runtime = build_runtime(settings, nats_url)
    try:
        versions = rebuild_with_progress(runtime.hub, settings.resolved_database_url, names)
    finally:
        NatsConnection.close_all()
    for name, version in versions.items():
        typer.echo(f"{name}: version {version} is live")
