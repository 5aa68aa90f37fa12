"""`hub tenant list|show|rename|rotate`: the admin API's tenant operations, from the shell."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from hub.cli.admin_runtime import DataDir, TenantArg, admin_runtime, refuse, show_once
from hub.secret_kinds import TenantSecret


def _line(slug: str, name: str, version: int) -> str:
    return f"{slug}\t{name}\tversion {version}"


def list_tenants(
    after: Annotated[str | None, typer.Option(help="List after this slug.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 100,
    data_dir: DataDir = None,
) -> None:
    """List tenants by slug (never their secrets)."""
    from hub.tenants import list_tenants as list_page  # noqa: PLC0415 - keeps `hub --help` fast

    with admin_runtime(data_dir) as runtime:
        page = list_page(runtime.hub, after=after, limit=limit)
    for tenant in page.tenants:
        typer.echo(_line(tenant.slug, tenant.name, tenant.version))
    if page.next_after:
        typer.echo(f"(more: --after {page.next_after})")


def show(tenant: TenantArg, data_dir: DataDir = None) -> None:
    """Show a tenant as JSON (never its secrets)."""
    from hub.http.admin import tenant_view  # noqa: PLC0415 - the admin API's own view

    with admin_runtime(data_dir) as runtime:
        found = runtime.hub.tenant(tenant)
    if found is None:
        refuse(LookupError(f"no tenant {tenant!r} is registered"))
    typer.echo(json.dumps(tenant_view(found).model_dump(mode="json"), indent=2))


def rename(
    tenant: TenantArg,
    name: Annotated[str, typer.Argument(help="The new display name.")],
    data_dir: DataDir = None,
) -> None:
    """Rename a tenant."""
    from hub.tenants import UnknownTenantError, rename_tenant  # noqa: PLC0415

    if not 1 <= len(name) <= 200:
        refuse(ValueError("a name is 1 to 200 characters"))
    with admin_runtime(data_dir) as runtime:
        try:
            position = rename_tenant(runtime.hub, tenant, name)
        except UnknownTenantError as error:
            refuse(error)
    where = f" at log position {position}" if position else " (it already had that name)"
    typer.echo(f"tenant {tenant} renamed {name!r}{where}")


def rotate(
    tenant: TenantArg,
    which: Annotated[TenantSecret, typer.Option(help="Which secret; the old one stops at once.")],
    data_dir: DataDir = None,
) -> None:
    """Give a tenant a new API key or webhook secret, printed this once."""
    from hub.tenants import UnknownTenantError, rotate_tenant_secret  # noqa: PLC0415

    with admin_runtime(data_dir) as runtime:
        try:
            done = rotate_tenant_secret(runtime.hub, runtime.box, tenant, which)
        except UnknownTenantError as error:
            refuse(error)
    typer.echo(f"tenant {tenant}: {done.which} rotated at log position {done.position}")
    show_once(f"new {done.which}", done.secret)
