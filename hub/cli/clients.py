"""`hub client` and `hub rate-limits`: a tenant's API clients and API rate limits."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from hub.endpoint import nats_endpoint
from infra.logging import configure_logging
from infra.settings import Settings

if TYPE_CHECKING:
    from hub.bootstrap import Runtime

client_app = typer.Typer(help="A tenant's API clients (OAuth2).", no_args_is_help=True)
limits_app = typer.Typer(help="A tenant's API rate limits (per minute).", no_args_is_help=True)
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data folder (default ./var).")]
Tenant = Annotated[str, typer.Argument(help="The tenant's slug.")]
T = TypeVar("T")


@contextmanager
def _admin(data_dir: Path | None) -> Iterator[Runtime]:
    """The runtime, with the events it records marked as the command line's admin actions."""
    from hub.bootstrap import build_runtime  # noqa: PLC0415 - keeps `hub --help` fast
    from hub.domain.base import EventContext, event_context  # noqa: PLC0415
    from infra.nats_client import NatsConnection  # noqa: PLC0415

    settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    with nats_endpoint(settings) as url:
        runtime = build_runtime(settings, url)
        run_id = uuid.uuid4().hex
        context = EventContext(run_id, run_id, source="cli:admin", verified_by="admin-token")
        try:
            with event_context(context):
                yield runtime
        finally:
            runtime.hub.close()
            NatsConnection.close_all()


def _refusing(errors: tuple[type[Exception], ...], command: Callable[[], T]) -> T:
    try:
        return command()
    except errors as error:
        typer.echo(f"hub: {error}", err=True)
        raise typer.Exit(1) from error


def _check_tenant(runtime: Runtime, tenant: str) -> None:
    from hub.domain.base import InvalidTenantError  # noqa: PLC0415

    known = _refusing((InvalidTenantError,), lambda: runtime.hub.tenant(tenant))
    if known is None:
        typer.echo(f"hub: no tenant {tenant!r} is registered", err=True)
        raise typer.Exit(1)


@client_app.command("create")
def create(
    tenant: Tenant,
    name: Annotated[str, typer.Option(help="What the client is, for people.")],
    scope: Annotated[list[str], typer.Option("--scope", help="A scope it holds (repeatable).")],
    data_dir: DataDir = None,
) -> None:
    """Register an API client of TENANT; print its id and secret (the secret this once)."""
    from hub.api.clients import register_client  # noqa: PLC0415

    with _admin(data_dir) as runtime:
        _check_tenant(runtime, tenant)
        made = _refusing(
            (ValueError,), lambda: register_client(runtime.hub, tenant, name, tuple(scope))
        )
    typer.echo(f"client_id:     {made.client_id}")
    typer.echo(f"client_secret: {made.client_secret}   (shown this once)")
    typer.echo(f"scopes:        {' '.join(made.scopes)}")


@client_app.command("list")
def list_(tenant: Tenant, data_dir: DataDir = None) -> None:
    """TENANT's API clients, one JSON object a line (never a secret)."""
    from hub.api.clients import list_clients  # noqa: PLC0415
    from infra.nats_client import NatsConnection  # noqa: PLC0415

    with _admin(data_dir) as runtime:
        _check_tenant(runtime, tenant)
        connection = NatsConnection.shared(runtime.nats_url)
        found = list_clients(runtime.hub, connection, runtime.settings.stream_prefix, tenant)
        for client in found:
            shown: dict[str, object] = {"client_id": client.client_id, "name": client.name}
            shown |= {"scopes": client.scopes, "revoked": client.revoked}
            typer.echo(json.dumps(shown))


@client_app.command("revoke")
def revoke(
    tenant: Tenant,
    client_id: Annotated[str, typer.Argument(help="The client's id.")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a client: its tokens stop working (other processes: within
    HUB_API_CLIENT_CACHE_S)."""
    from hub.api.clients import UnknownClientError, revoke_client  # noqa: PLC0415
    from hub.domain.api_clients import ClientRevokedError  # noqa: PLC0415

    with _admin(data_dir) as runtime:
        _refusing(
            (UnknownClientError, ClientRevokedError),
            lambda: revoke_client(runtime.hub, tenant, client_id, reason="revoked from the CLI"),
        )
    typer.echo(f"revoked {client_id}")


@limits_app.command("show")
def show(tenant: Tenant, data_dir: DataDir = None) -> None:
    """TENANT's API rate limits per minute (the defaults when it set none)."""
    from hub.api.limits import read_limits  # noqa: PLC0415

    with _admin(data_dir) as runtime:
        _check_tenant(runtime, tenant)
        typer.echo(read_limits(runtime.hub, runtime.settings, tenant).model_dump_json())


@limits_app.command("set")
def set_(
    tenant: Tenant,
    tenant_per_minute: Annotated[int, typer.Option(min=1, help="The tenant's, in all.")],
    client_per_minute: Annotated[int, typer.Option(min=1, help="Each client's.")],
    data_dir: DataDir = None,
) -> None:
    """Set TENANT's API rate limits (seen by running servers within 10 s)."""
    from pydantic import ValidationError  # noqa: PLC0415

    from hub.api.limits import RateLimitsIn, read_limits, set_limits  # noqa: PLC0415

    given = _refusing(
        (ValidationError,),
        lambda: RateLimitsIn(
            tenant_per_minute=tenant_per_minute, client_per_minute=client_per_minute
        ),
    )
    with _admin(data_dir) as runtime:
        _check_tenant(runtime, tenant)
        set_limits(runtime.hub, tenant, given)
        typer.echo(read_limits(runtime.hub, runtime.settings, tenant).model_dump_json())
