"""`hub deliveries`: outbound deliveries (grade passback): list them, redrive dead letters."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from uuid import uuid4

import typer

from hub.endpoint import nats_endpoint
from infra.logging import configure_logging
from infra.settings import Settings

if TYPE_CHECKING:
    from eventsourcing.application import Application

    from connectors.deliveries import Entry

deliveries_app = typer.Typer(
    help="Outbound deliveries (Spark grade passback): list, redrive dead letters.",
    no_args_is_help=True,
)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data folder (default ./var).")]
Tenant = Annotated[str | None, typer.Option("--tenant", help="Only this tenant.")]
Connector = Annotated[str, typer.Option("--connector", help="Which deliveries.")]


def _settings(data_dir: Path | None) -> Settings:
    settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    return settings


def _entries(app: Application[str], connector: str) -> list[Entry]:
    from connectors.deliveries import load_index  # noqa: PLC0415 - keeps `hub --help` fast

    return [e for e in load_index(app).entries() if e.connector == connector]


def _open(settings: Settings, url: str, connector: str) -> Application[str]:
    from connectors.registry import delivery_log  # noqa: PLC0415 - keeps `hub --help` fast
    from hub.bootstrap import eventsourcing_env  # noqa: PLC0415

    try:
        return delivery_log(connector, eventsourcing_env(settings, url))
    except KeyError as error:
        typer.echo(f"hub: {error.args[0]}", err=True)
        raise typer.Exit(2) from error


@deliveries_app.command("list")
def list_deliveries(
    status: Annotated[
        str | None,
        typer.Option(help="Only this status: retrying, delivered or dead-lettered."),
    ] = None,
    tenant: Tenant = None,
    connector: Connector = "spark-grades",
    data_dir: DataDir = None,
) -> None:
    """Each delivery: status, attempts, last answer, next attempt."""
    from infra.nats_client import NatsConnection  # noqa: PLC0415

    settings = _settings(data_dir)
    with nats_endpoint(settings) as url:
        app = _open(settings, url, connector)
        try:
            entries = _entries(app, connector)
        finally:
            app.close()
            NatsConnection.close_all()
    shown = [
        e
        for e in entries
        if (status is None or e.status == status) and (tenant is None or e.tenant == tenant)
    ]
    typer.echo(f"{'delivery':<56} {'status':<14} {'attempts':>8} {'last':>5}  next / error")
    for e in shown:
        last = "" if e.last_status_code is None else str(e.last_status_code)
        after = e.due.isoformat() if e.status == "retrying" and e.due else e.last_error[:60]
        typer.echo(f"{e.id:<56} {e.status:<14} {e.attempts:>8} {last:>5}  {after}")
    typer.echo(f"{len(shown)} deliveries")


@deliveries_app.command("redrive")
def redrive_deliveries(
    tenant: Tenant = None,
    connector: Connector = "spark-grades",
    delivery_ids: Annotated[
        list[str] | None, typer.Option("--id", help="Only this delivery (repeatable).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Re-arm dead-lettered deliveries: they are attempted again from the first attempt."""
    from connectors.deliveries import redrive_dead  # noqa: PLC0415 - keeps `hub --help` fast
    from hub.domain.base import EventContext, event_context  # noqa: PLC0415
    from infra.nats_client import NatsConnection  # noqa: PLC0415

    settings = _settings(data_dir)
    wanted = set(delivery_ids or ())
    with nats_endpoint(settings) as url:
        app = _open(settings, url, connector)
        try:
            run = uuid4().hex
            context = EventContext(run, run, source="cli:deliveries", verified_by="operator")
            with event_context(context):
                done = redrive_dead(
                    app, connector, by="hub deliveries redrive", tenant=tenant, ids=wanted
                )
        finally:
            app.close()
            NatsConnection.close_all()
    for delivery_id in done:
        typer.echo(f"redriven  {delivery_id}")
    for delivery_id in sorted(wanted - set(done)):
        typer.echo(f"hub: {delivery_id} is not a dead-lettered {connector} delivery", err=True)
    typer.echo(f"{len(done)} deliveries redriven")
    if wanted - set(done):
        raise typer.Exit(1)
