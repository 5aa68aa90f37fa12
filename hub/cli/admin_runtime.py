"""What every `hub` admin command shares: a runtime whose events carry `cli:admin`, and refusals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from hub.bootstrap import Runtime

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data folder (default ./var).")]
TenantArg = Annotated[str, typer.Argument(help="The tenant's slug.")]


@contextmanager
def admin_runtime(data_dir: Path | None) -> Iterator[Runtime]:
    """The hub's runtime for one admin command; the events it records carry `cli:admin`."""
    # Imported here: keeps `hub --help` fast.
    from hub.bootstrap import build_runtime  # noqa: PLC0415
    from hub.domain.base import event_context  # noqa: PLC0415
    from hub.endpoint import nats_endpoint  # noqa: PLC0415
    from hub.http.admin_context import cli_admin_context  # noqa: PLC0415
    from infra.logging import configure_logging  # noqa: PLC0415
    from infra.nats_client import NatsConnection  # noqa: PLC0415
    from infra.settings import Settings  # noqa: PLC0415

    settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    with nats_endpoint(settings) as url:
        runtime = build_runtime(settings, url)
        try:
            with event_context(cli_admin_context()):
                yield runtime
        finally:
            runtime.hub.close()
            NatsConnection.close_all()


def refuse(error: Exception) -> NoReturn:
    """One line on stderr and exit status 1: the command changed nothing."""
    typer.echo(f"hub: {error}", err=True)
    raise typer.Exit(1) from error


def show_once(what: str, secret: str) -> None:
    typer.echo(f"This {what} is shown once; keep it now:")
    typer.echo(f"  {secret}")
