"""`hub roster`: import a OneRoster 1.2 CSV bundle (or dry-run it), export a tenant's roster."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hub.endpoint import nats_endpoint
from infra.logging import configure_logging
from infra.settings import Settings

if TYPE_CHECKING:
    from hub.roster.importer import ImportReport, Progress
    from projections.roster import SqlRosterReadModel

roster_app = typer.Typer(help="OneRoster 1.2 rosters: CSV import and export.", no_args_is_help=True)
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data folder (default ./var).")]
Tenant = Annotated[str, typer.Option("--tenant", help="The tenant's slug.")]
System = Annotated[
    str | None,
    typer.Option(
        help="The source system (default: the manifest's source.systemCode, else 'oneroster')."
    ),
]


def _settings(data_dir: Path | None) -> Settings:
    settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    return settings


@contextmanager
def roster_read_model(settings: Settings, env: dict[str, str]) -> Iterator[SqlRosterReadModel]:
    """The roster read model, kept current while the command runs: the roster projection
    runs in this process unless a running hub already holds its lease."""
    from infra.sql import make_engine  # noqa: PLC0415 - keeps `hub --help` fast
    from projections import run_projection  # noqa: PLC0415
    from projections.roster import SqlRosterReadModel  # noqa: PLC0415

    url = settings.resolved_database_url
    stop = threading.Event()
    runner = threading.Thread(
        target=run_projection, args=("roster", env, url, stop), daemon=True, name="roster"
    )
    runner.start()
    engine = make_engine(url)
    try:
        yield SqlRosterReadModel(engine)
    finally:
        stop.set()
        runner.join(timeout=30)
        engine.dispose()


@contextmanager
def _bar() -> Iterator[Progress]:
    from rich.progress import Progress, SpinnerColumn, TextColumn  # noqa: PLC0415

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=False) as bar:
        tasks: dict[str, object] = {}

        def update(file: str, rows: int) -> None:
            if file not in tasks:
                tasks[file] = bar.add_task(file, total=None)
            bar.update(tasks[file], description=f"{file}.csv: {rows:,} rows")  # type: ignore[arg-type]

        yield update


def _print_report(report: ImportReport) -> None:
    verb = "would change" if report.dry_run else "changed"
    typer.echo(f"{report.tenant} ({report.system}): {verb}")
    typer.echo(
        f"{'file':<30} {'creates':>8} {'updates':>8} {'deletes':>8} {'same':>8} {'errors':>7}"
    )
    for name, s in report.stats.items():
        typer.echo(
            f"{name:<30} {s.creates:>8} {s.updates:>8} {s.deletes:>8} {s.unchanged:>8} "
            f"{s.rejected:>7}"
        )
    for error in report.errors[:20]:
        typer.echo(f"  {error.file}:{error.row} {error.column} {error.code}: {error.message}")
    if report.import_id:
        typer.echo(f"recorded as {report.import_id}")
    elif not report.dry_run:
        typer.echo("nothing changed: nothing recorded")


@roster_app.command("import")
def import_command(
    bundle: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The bundle zip.")],
    tenant: Tenant,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report; record nothing.")] = False,
    system: System = None,
    data_dir: DataDir = None,
) -> None:
    """Import BUNDLE (a OneRoster 1.2 CSV zip) into TENANT's roster, or dry-run it."""
    from hub.bootstrap import build_runtime, eventsourcing_env  # noqa: PLC0415
    from hub.domain.base import EventContext  # noqa: PLC0415
    from hub.roster.commands import import_roster  # noqa: PLC0415
    from hub.roster.errors import RosterError  # noqa: PLC0415
    from hub.roster.log import Rosters  # noqa: PLC0415
    from infra.nats_client import NatsConnection  # noqa: PLC0415

    settings = _settings(data_dir)
    with nats_endpoint(settings) as nats_url:
        runtime = build_runtime(settings, nats_url)
        env = eventsourcing_env(settings, nats_url)
        rosters = Rosters(env=env)
        try:
            if runtime.hub.tenant(tenant) is None:
                typer.echo(f"no tenant is named {tenant!r}", err=True)
                raise typer.Exit(2)
            context = EventContext(
                correlation_id=f"cli-{bundle.name}",
                causation_id=f"cli-{bundle.name}",
                source="oneroster-csv",
                verified_by="cli",
            )
            with roster_read_model(settings, env) as read_model, _bar() as progress:
                try:
                    report = import_roster(
                        rosters,
                        bundle,
                        tenant=tenant,
                        state=read_model,
                        wait_for=read_model.wait_for,
                        dry_run=dry_run,
                        context=context,
                        system=system,
                        progress=progress,
                    )
                    if report.position is not None:
                        read_model.wait_for(report.position)
                except RosterError as error:
                    typer.echo(f"refused: {error}", err=True)
                    raise typer.Exit(1) from None
            _print_report(report)
        finally:
            rosters.close()
            runtime.hub.close()
            NatsConnection.close_all()


@roster_app.command("export")
def export_command(
    out: Annotated[Path, typer.Argument(dir_okay=False, help="Where to write the zip.")],
    tenant: Tenant,
    system: Annotated[str, typer.Option(help="The source system to export.")] = "oneroster",
    data_dir: DataDir = None,
) -> None:
    """Export TENANT's roster from SYSTEM as a OneRoster 1.2 bulk CSV bundle at OUT."""
    from hub.bootstrap import eventsourcing_env  # noqa: PLC0415
    from hub.roster.export import export_bundle  # noqa: PLC0415
    from infra.nats_client import NatsConnection  # noqa: PLC0415

    settings = _settings(data_dir)
    with nats_endpoint(settings) as nats_url:
        env = eventsourcing_env(settings, nats_url)
        try:
            with roster_read_model(settings, env) as read_model:
                from projections.upstreams import head, open_reader  # noqa: PLC0415

                reader = open_reader("roster", env)
                try:
                    position = head(reader)
                finally:
                    reader.close()
                if position:
                    read_model.wait_for(position)
                counts = export_bundle(
                    lambda entity: read_model.pages(tenant, entity, system), out, system=system
                )
        finally:
            NatsConnection.close_all()
    typer.echo(f"wrote {out}: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
