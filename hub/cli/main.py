"""`hub`: run the embedded hub, or its parts, and administer it."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from hub.caliper.cli import caliper_app
from hub.cli import partner_settings, partners, processes, tenants
from hub.cli.clients import client_app, limits_app
from hub.cli.deliveries import deliveries_app
from hub.cli.dev import dev_app
from hub.cli.roster import roster_app
from hub.cli.schemas import schemas_app
from hub.cli.spark import spark_app
from hub.endpoint import nats_endpoint
from infra.errors import HubInfraError
from infra.logging import configure_logging
from infra.settings import Settings

app = typer.Typer(help="The education integration hub.", no_args_is_help=True, add_completion=False)
tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
projections_app = typer.Typer(help="Read models built from the log.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(projections_app, name="projections")
app.add_typer(spark_app, name="spark")
app.add_typer(dev_app, name="dev")
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(caliper_app, name="caliper")
app.add_typer(roster_app, name="roster")
app.add_typer(partners.lti_app, name="lti")
app.add_typer(partners.badges_app, name="badges")
roster_app.add_typer(partners.connectors_app, name="connectors")
partners.lti_app.add_typer(partner_settings.lti_links_app, name="links")
partners.lti_app.add_typer(partner_settings.lti_limits_app, name="rate-limits")
partners.lti_app.add_typer(partner_settings.lti_platforms_app, name="platforms")
caliper_app.command("set")(partners.caliper_set)
caliper_app.command("show")(partners.caliper_show)
app.add_typer(client_app, name="client")
app.add_typer(limits_app, name="rate-limits")
app.add_typer(schemas_app, name="schemas")


class Verdict(StrEnum):
    accepted = "accepted"
    rejected = "rejected"
    admin = "admin"


DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data folder (default ./var).")]


def _settings(data_dir: Path | None = None, **overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    settings = Settings(**values)  # type: ignore[arg-type]
    configure_logging(json=settings.log_json, level=settings.log_level)
    return settings


@app.command()
def run(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8000,
    data_dir: DataDir = None,
) -> None:
    """Run everything in one process tree: bundled NATS, SQLite, HTTP, projections, connectors."""
    settings = _settings(data_dir, host=host, port=port)
    processes.run_embedded(settings)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port.")] = None,
) -> None:
    """Run the HTTP ingress only (against HUB_NATS_URL and HUB_DATABASE_URL)."""
    settings = _settings(host=host, port=port)
    processes.run_part(settings, http=True)


@app.command()
def project() -> None:
    """Run the projections only; several may run, one is active per projection."""
    processes.run_part(_settings(), projections=True)


@app.command()
def connect() -> None:
    """Run the connectors only; several may run, one is active per connector."""
    processes.run_part(_settings(), connectors=True)


@app.command()
def replay(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant.")] = None,
    aggregate: Annotated[str | None, typer.Option(help="Only this aggregate id.")] = None,
    aggregate_type: Annotated[str | None, typer.Option("--type", help="Aggregate type.")] = None,
    event: Annotated[list[str] | None, typer.Option(help="Event type (repeatable).")] = None,
    since: Annotated[datetime | None, typer.Option(help="Recorded at or after (UTC).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Recorded at or before (UTC).")] = None,
    from_position: Annotated[int, typer.Option(help="First log position.")] = 1,
    source: Annotated[
        str | None, typer.Option(help="Source or its family (spark: spark:submission too).")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Reason code or verification.")] = None,
    verdict: Annotated[
        Verdict | None, typer.Option(help="accepted, rejected (the audit stream) or admin.")
    ] = None,
    rejections: Annotated[
        bool, typer.Option("--rejections", help="Include rejected signals (audit stream).")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Stream events (and rejections) as JSON lines, for auditors."""
    from hub.replay import ReplayFilter  # noqa: PLC0415 - keeps `hub --help` fast

    replay_filter = ReplayFilter(
        tenant=tenant,
        aggregate_id=aggregate,
        aggregate_type=aggregate_type,
        event_types=frozenset(event or ()),
        since=processes.as_utc(since),
        until=processes.as_utc(until),
        from_position=from_position,
        source=source,
        reason=reason,
        verdict=None if verdict is None else verdict.value,
        rejections=rejections,
    )
    settings = _settings(data_dir)
    with nats_endpoint(settings) as url:
        processes.print_replay(settings, url, replay_filter)


@tenant_app.command("create")
def tenant_create(
    name: Annotated[str, typer.Argument(help="The tenant's display name.")],
    slug: Annotated[str | None, typer.Option(help="Id in subjects and URLs.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Register a tenant and print its generated secrets (shown this once)."""
    settings = _settings(data_dir)
    with nats_endpoint(settings) as url:
        processes.create_tenant(settings, url, name, slug)


tenant_app.command("list")(tenants.list_tenants)
tenant_app.command("show")(tenants.show)
tenant_app.command("rename")(tenants.rename)
tenant_app.command("rotate")(tenants.rotate)


@projections_app.command("status")
def projections_status(data_dir: DataDir = None) -> None:
    """Each projection's live version, position, head and lag."""
    settings = _settings(data_dir)
    with nats_endpoint(settings) as url:
        processes.print_projection_status(settings, url)


@projections_app.command("rebuild")
def projections_rebuild(
    names: Annotated[
        list[str],
        typer.Argument(help="The projections to rebuild; several share one reading of the log."),
    ],
    data_dir: DataDir = None,
) -> None:
    """Build a new version beside the live one from position zero, then switch atomically."""
    settings = _settings(data_dir)
    with nats_endpoint(settings) as url:
        processes.rebuild_projections(settings, url, names)


def main() -> None:
    try:
        app()
    except HubInfraError as error:
        typer.echo(f"hub: {error}", err=True)
        sys.exit(2)
