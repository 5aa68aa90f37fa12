"""`hub spark`: connect a tenant to Spark (secrets printed once), show, update, rotate, sync."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from hub.cli.admin_runtime import DataDir, TenantArg, admin_runtime, refuse, show_once
from hub.endpoint import nats_endpoint
from hub.secret_kinds import SparkSecret
from infra.logging import configure_logging
from infra.settings import Settings

spark_app = typer.Typer(help="The Spark partner: connection, course sync.", no_args_is_help=True)


def _settings(data_dir: Path | None) -> Settings:
    settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    return settings


@spark_app.command("connect")
def connect(  # noqa: PLR0917 - a typer command takes its options as parameters
    tenant: Annotated[str, typer.Argument(help="The tenant's slug.")],
    api_url: Annotated[str, typer.Option("--api-url", help="Spark's API base URL.")],
    issuer: Annotated[
        str | None, typer.Option(help="Refuse SSO tokens whose `iss` is another one.")
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="A host whose evidence URLs may be non-public (repeatable).",
        ),
    ] = None,
    webhook_limit: Annotated[
        int, typer.Option("--webhook-limit", min=1, help="Webhook requests per minute.")
    ] = 100,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="HUB_SPARK_API_KEY",
            help="Spark's API key for course sync (better from the "
            "environment than on the command line).",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data folder (default ./var).")
    ] = None,
) -> None:
    """Connect TENANT to Spark and print its new SSO and webhook secrets (shown this once)."""
    from hub.bootstrap import build_runtime  # noqa: PLC0415 - keeps `hub --help` fast
    from hub.spark.connection import (  # noqa: PLC0415
        API_KEY_PLACEHOLDER,
        SparkAlreadyConnectedError,
        UnknownTenantError,
        connect_spark,
    )
    from infra.nats_client import NatsConnection  # noqa: PLC0415

    settings = _settings(data_dir)
    with nats_endpoint(settings) as url:
        runtime = build_runtime(settings, url)
        try:
            made = connect_spark(
                runtime.hub,
                runtime.box,
                tenant,
                api_url,
                issuer=issuer,
                allowed_evidence_hosts=allow_host or (),
                webhook_limit_per_minute=webhook_limit,
                api_key=api_key,
            )
        except (UnknownTenantError, SparkAlreadyConnectedError, ValueError) as error:
            typer.echo(f"hub: {error}", err=True)
            raise typer.Exit(1) from error
        finally:
            NatsConnection.close_all()
    typer.echo(f"tenant {made.tenant} connected to Spark at log position {made.position}")
    typer.echo("These secrets are shown once; give them to Spark now:")
    typer.echo(f"  SSO secret      {made.sso_secret}")
    typer.echo(f"  webhook secret  {made.webhook_secret}")
    if made.api_key == API_KEY_PLACEHOLDER:
        typer.echo("  (no Spark API key given: course sync stays off until one is set)")


@spark_app.command("sync")
def sync(
    tenant: Annotated[
        list[str] | None,
        typer.Option("--tenant", help="Only this tenant (repeatable; default: every connected)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; record nothing.")
    ] = False,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data folder (default ./var).")
    ] = None,
) -> None:
    """Sync Spark courses and assignments into quests and tasks, and print what changed."""
    from connectors.course_sync import (  # noqa: PLC0415 - keeps `hub --help` fast
        CourseSyncError,
        connected_tenants,
        sync_tenant,
    )
    from connectors.spark_api import SparkApiError, SparkClients  # noqa: PLC0415
    from hub.bootstrap import build_runtime  # noqa: PLC0415
    from infra.nats_client import NatsConnection  # noqa: PLC0415

    settings = _settings(data_dir)
    failed = 0
    with nats_endpoint(settings) as url:
        runtime = build_runtime(settings, url)
        clients = SparkClients(runtime.box)
        try:
            tenants = tenant or connected_tenants(runtime.hub)
            if not tenants:
                typer.echo("no tenant is connected to Spark (hub spark connect)")
            for slug in tenants:
                try:
                    report = sync_tenant(runtime.hub, clients, slug, dry_run=dry_run)
                except (CourseSyncError, SparkApiError) as error:
                    typer.echo(f"hub: {slug}: {error}", err=True)
                    failed += 1
                    continue
                for line in report.lines():
                    typer.echo(line)
        finally:
            runtime.hub.close()
            NatsConnection.close_all()
    if failed:
        raise typer.Exit(1)


@spark_app.command("rotate")
def rotate(
    tenant: TenantArg,
    which: Annotated[SparkSecret, typer.Option(help="The secret to replace.")],
    overlap: Annotated[
        int,
        typer.Option(
            min=0,
            max=7 * 86_400,
            help="Seconds the old secret keeps verifying beside the new one.",
        ),
    ] = 86_400,
    data_dir: DataDir = None,
) -> None:
    """Give TENANT's Spark connection a new SSO or webhook secret, printed this once."""
    from hub.spark.connection import (  # noqa: PLC0415 - keeps `hub --help` fast
        SparkNotConnectedError,
        rotate_spark_secret,
    )

    with admin_runtime(data_dir) as runtime:
        try:
            done = rotate_spark_secret(runtime.hub, runtime.box, tenant, which, overlap_s=overlap)
        except SparkNotConnectedError as error:
            refuse(error)
    until = datetime.fromtimestamp(done.retired_until, UTC).isoformat(timespec="seconds")
    typer.echo(f"tenant {tenant}: Spark {done.which} secret rotated, log position {done.position}")
    typer.echo(f"the old one verifies until {until}")
    show_once(f"new Spark {done.which} secret", done.secret)


@spark_app.command("update")
def update(  # noqa: PLR0917 - a typer command takes its options as parameters
    tenant: TenantArg,
    api_url: Annotated[str | None, typer.Option("--api-url", help="Spark's API base URL.")] = None,
    issuer: Annotated[str | None, typer.Option(help="Refuse SSO tokens of another `iss`.")] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option("--allow-host", help="Replace the allowed evidence hosts (repeatable)."),
    ] = None,
    webhook_limit: Annotated[
        int | None, typer.Option("--webhook-limit", min=1, help="Webhook requests per minute.")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="HUB_SPARK_API_KEY", help="Spark's new API key (better from the env)."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Change TENANT's Spark connection; what is not given stays as it was."""
    from hub.spark.connection import SparkNotConnectedError, update_spark  # noqa: PLC0415

    with admin_runtime(data_dir) as runtime:
        try:
            position = update_spark(
                runtime.hub,
                runtime.box,
                tenant,
                api_url=api_url,
                issuer=issuer,
                allowed_evidence_hosts=allow_host,
                webhook_limit_per_minute=webhook_limit,
                api_key=api_key,
            )
        except (SparkNotConnectedError, ValueError) as error:
            refuse(error)
    typer.echo(f"tenant {tenant}: Spark connection updated at log position {position}")


@spark_app.command("show")
def show(tenant: TenantArg, data_dir: DataDir = None) -> None:
    """Show TENANT's Spark connection as JSON (never its secrets)."""
    from hub.spark.admin import connection_view  # noqa: PLC0415 - the admin API's own view
    from hub.spark.connection import spark_connection  # noqa: PLC0415

    with admin_runtime(data_dir) as runtime:
        found = spark_connection(runtime.hub, tenant)
    if found is None:
        refuse(LookupError(f"tenant {tenant!r} is not connected to Spark"))
    typer.echo(json.dumps(connection_view(found).model_dump(mode="json"), indent=2))
