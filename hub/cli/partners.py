"""`hub lti|roster connectors|caliper|badges`: the partners' admin routes, from the shell.

Each command calls the application code its admin route calls, records its events as
`cli:admin`, reads settings from a JSON file validated by the route's own body model, and
prints JSON without secrets (the routes' own views).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from hub.cli.admin_runtime import DataDir, TenantArg, admin_runtime, refuse

if TYPE_CHECKING:
    from pydantic import BaseModel

    from hub.bootstrap import Runtime

M = TypeVar("M", bound="BaseModel")

lti_app = typer.Typer(
    help="LTI 1.3: the tools the hub launches, its signing keys.", no_args_is_help=True
)
lti_tools_app = typer.Typer(help="Tools registered on the hub as a platform.", no_args_is_help=True)
lti_keys_app = typer.Typer(help="The tenant's LTI signing keys.", no_args_is_help=True)
lti_app.add_typer(lti_tools_app, name="tools")
lti_app.add_typer(lti_keys_app, name="keys")
connectors_app = typer.Typer(help="SIS connections of a tenant.", no_args_is_help=True)
badges_app = typer.Typer(help="Badge rules of a tenant.", no_args_is_help=True)

JsonFile = Annotated[Path, typer.Option("--file", help="The settings as JSON (the API's body).")]


def echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


def body_of(path: Path, model: type[M]) -> M:
    """The file as the route's body model; a clear refusal when it is not."""
    from pydantic import ValidationError  # noqa: PLC0415 - keeps `hub --help` fast

    try:
        return model.model_validate_json(path.read_bytes())
    except OSError as error:
        refuse(error)
    except ValidationError as error:
        fields = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(body)'}: {e['msg']}" for e in error.errors()
        )
        refuse(ValueError(f"{path}: {fields}"))


def known_tenant(runtime: Runtime, tenant: str) -> None:
    if runtime.hub.tenant(tenant) is None:
        refuse(LookupError(f"no tenant {tenant!r} is registered"))


# LTI tools and keys ------------------------------------------------------------------


@lti_tools_app.command("add")
def lti_tool_add(tenant: TenantArg, file: JsonFile, data_dir: DataDir = None) -> None:
    """Register a tool (its client_id printed)."""
    from hub.lti.platform import registrations  # noqa: PLC0415 - keeps `hub --help` fast
    from schemas.lti import ToolRegistrationIn  # noqa: PLC0415

    body = body_of(file, ToolRegistrationIn)
    with admin_runtime(data_dir) as runtime:
        known_tenant(runtime, tenant)
        try:
            made = registrations.register_tool(runtime.hub, tenant, body)
        except registrations.ToolExistsError as error:
            refuse(error)
    echo_json({"client_id": made.id, "position": made.position})


@lti_tools_app.command("show")
def lti_tool_show(
    tenant: TenantArg,
    client_id: Annotated[str, typer.Argument(help="The tool's client_id.")],
    data_dir: DataDir = None,
) -> None:
    """Show a registered tool's settings."""
    from hub.lti.platform import registrations  # noqa: PLC0415
    from hub.lti.platform.errors import LtiRejectedError  # noqa: PLC0415

    with admin_runtime(data_dir) as runtime:
        try:
            tool = registrations.registration(runtime.hub, tenant, client_id)
        except LtiRejectedError as error:
            refuse(LookupError(error.detail))
    echo_json({"client_id": tool.client_id, "settings": tool.settings, "version": tool.version})


def _lti_keys(runtime: Runtime) -> Any:
    from hub.lti.keys import LtiKeys  # noqa: PLC0415

    return LtiKeys(runtime.hub, runtime.box)


@lti_keys_app.command("list")
def lti_keys_list(tenant: TenantArg, data_dir: DataDir = None) -> None:
    """The signing keys' ids and status (never the private parts)."""
    with admin_runtime(data_dir) as runtime:
        known_tenant(runtime, tenant)
        ring = _lti_keys(runtime).ring(tenant)
        shown = [
            {"kid": k["kid"], "status": k["status"], "added_at": k["added_at"]}
            for k in ring.keys.values()
        ]
    echo_json({"keys": shown})


@lti_keys_app.command("rotate")
def lti_keys_rotate(tenant: TenantArg, data_dir: DataDir = None) -> None:
    """Make a new active signing key; the previous one starts retiring."""
    with admin_runtime(data_dir) as runtime:
        known_tenant(runtime, tenant)
        kid = _lti_keys(runtime).rotate(tenant)
    echo_json({"kid": kid, "status": "active"})


@lti_keys_app.command("retire")
def lti_keys_retire(
    tenant: TenantArg,
    kid: Annotated[str, typer.Argument(help="A retiring key's id.")],
    data_dir: DataDir = None,
) -> None:
    """Stop publishing a retiring key."""
    from hub.domain.lti_keys import KeyStateError  # noqa: PLC0415

    with admin_runtime(data_dir) as runtime:
        known_tenant(runtime, tenant)
        try:
            _lti_keys(runtime).retire(tenant, kid)
        except KeyStateError as error:
            refuse(error)
    echo_json({"kid": kid, "status": "retired"})


# SIS connectors ----------------------------------------------------------------------


@connectors_app.command("list")
def connectors_list(tenant: TenantArg, data_dir: DataDir = None) -> None:
    """The tenant's SIS connections, cursors and last runs (never their secrets)."""
    from hub.roster.connector_routes import connections_of  # noqa: PLC0415

    with admin_runtime(data_dir) as runtime:
        echo_json(connections_of(runtime.hub, tenant))


@connectors_app.command("precedence")
def connectors_precedence(
    tenant: TenantArg,
    systems: Annotated[list[str], typer.Argument(help="Source systems, the winner first.")],
    data_dir: DataDir = None,
) -> None:
    """Which source wins when two disagree about a person."""
    from connectors.sis.connections import set_precedence  # noqa: PLC0415

    with admin_runtime(data_dir) as runtime:
        known_tenant(runtime, tenant)
        made = set_precedence(runtime.hub, tenant, systems)
    echo_json({"systems": made.systems})


# Caliper -------------------------------------------------------------------------------


def caliper_set(tenant: TenantArg, file: JsonFile, data_dir: DataDir = None) -> None:
    """Set the tenant's Caliper settings (the bearer token is never shown back)."""
    from hub.caliper.admin import CaliperSettingsBody, caliper_config  # noqa: PLC0415
    from hub.caliper.settings import UnknownTenantError, configure_caliper  # noqa: PLC0415

    body = body_of(file, CaliperSettingsBody)
    with admin_runtime(data_dir) as runtime:
        try:
            configure_caliper(runtime.hub, runtime.box, tenant, caliper_config(body))
        except UnknownTenantError as error:
            refuse(error)
    caliper_show(tenant, data_dir)


def caliper_show(tenant: TenantArg, data_dir: DataDir = None) -> None:
    """Show the tenant's Caliper settings (never the bearer token)."""
    from hub.caliper.admin import caliper_view  # noqa: PLC0415
    from hub.caliper.settings import read_settings  # noqa: PLC0415

    with admin_runtime(data_dir) as runtime:
        found = read_settings(runtime.hub, tenant)
        if found is None:
            refuse(LookupError(f"tenant {tenant!r} has no Caliper settings"))
        echo_json(caliper_view(runtime, tenant, found).model_dump(mode="json"))


# Badges --------------------------------------------------------------------------------


@badges_app.command("list")
def badges_list(tenant: TenantArg, data_dir: DataDir = None) -> None:
    """The tenant's badges, retired ones too."""
    from hub import badges  # noqa: PLC0415
    from hub.http.badges_admin import badge_view  # noqa: PLC0415

    with admin_runtime(data_dir) as runtime:
        known_tenant(runtime, tenant)
        found = badges.list_badges(runtime.hub, tenant)
    echo_json([badge_view(listing).model_dump(mode="json") for listing in found])


@badges_app.command("define")
def badges_define(tenant: TenantArg, file: JsonFile, data_dir: DataDir = None) -> None:
    """Define a badge from its JSON definition (the API's body)."""
    from hub import badges  # noqa: PLC0415
    from hub.domain.badges import BadgeError  # noqa: PLC0415
    from hub.http.badges_admin import badge_rule, badge_view  # noqa: PLC0415
    from schemas.badges import BadgeDefinition  # noqa: PLC0415

    body = body_of(file, BadgeDefinition)
    with admin_runtime(data_dir) as runtime:
        try:
            done = badges.define_badge(runtime.hub, tenant, badge_rule(body.key, body))
        except BadgeError as error:
            refuse(error)
    echo_json(badge_view(done.badge, done.position).model_dump(mode="json"))


@badges_app.command("retire")
def badges_retire(
    tenant: TenantArg,
    key: Annotated[str, typer.Argument(help="The badge's key.")],
    data_dir: DataDir = None,
) -> None:
    """Retire a badge: no one earns it any more; who has it keeps it."""
    from hub import badges  # noqa: PLC0415
    from hub.domain.badges import BadgeError  # noqa: PLC0415
    from hub.http.badges_admin import badge_view  # noqa: PLC0415

    with admin_runtime(data_dir) as runtime:
        try:
            done = badges.retire_badge(runtime.hub, tenant, key)
        except BadgeError as error:
            refuse(error)
    echo_json(badge_view(done.badge, done.position).model_dump(mode="json"))
