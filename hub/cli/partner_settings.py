"""More partner admin routes from the shell: SIS connections added and run, LTI tools updated,
links placed, rate limits, the platforms that launch the hub, badges updated.

As in `hub.cli.partners`: each command calls its admin route's application code, records its
events as `cli:admin`, reads the route's body from a JSON file and prints the route's view.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.admin_runtime import DataDir, TenantArg, admin_runtime, refuse
from hub.cli.partners import (
    JsonFile,
    badges_app,
    body_of,
    connectors_app,
    echo_json,
    known_tenant,
    lti_tools_app,
)

lti_links_app = typer.Typer(help="Tools placed in a course context.", no_args_is_help=True)
lti_limits_app = typer.Typer(help="The tenant's LTI rate limits.", no_args_is_help=True)
lti_platforms_app = typer.Typer(
    help="Platforms that launch the hub as a tool (Canvas, Moodle, ...).", no_args_is_help=True
)

ClientId = Annotated[str, typer.Argument(help="The tool's client_id.")]


# SIS connectors ----------------------------------------------------------------------


@connectors_app.command("add")
def connectors_add(tenant: TenantArg, file: JsonFile, data_dir: DataDir = None) -> None:
    """Register a SIS connection with its schedule (its secret is sealed, never shown)."""
    from connectors.sis.connections import ConnectionExistsError  # noqa: PLC0415
    from hub.roster.connector_routes import (  # noqa: PLC0415
        ConnectionRequest,
        connection_view,
        register_requested,
    )

    body = body_of(file, ConnectionRequest)
    with admin_runtime(data_dir) as runtime:
        known_tenant(runtime, tenant)
        try:
            made = register_requested(runtime, tenant, body)
        except (ConnectionExistsError, ValueError) as error:
            refuse(error)
    echo_json(connection_view(made))


@connectors_app.command("run")
def connectors_run(
    tenant: TenantArg,
    name: Annotated[str, typer.Argument(help="The connection's name.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report; record nothing.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Run a SIS connection now (or dry-run it); prints the job's summary."""
    from eventsourcing.application import AggregateNotFoundError  # noqa: PLC0415

    from hub.bootstrap import eventsourcing_env  # noqa: PLC0415
    from hub.cli.roster import roster_read_model  # noqa: PLC0415
    from hub.roster.connector_routes import run_connection  # noqa: PLC0415
    from hub.roster.log import Rosters  # noqa: PLC0415

    with admin_runtime(data_dir) as runtime:
        env = eventsourcing_env(runtime.settings, runtime.nats_url)
        rosters = Rosters(env=env)
        try:
            with roster_read_model(runtime.settings, env) as read_model:
                job = run_connection(runtime, rosters, read_model, tenant, name, dry_run=dry_run)
                if job.report is not None and job.report.position is not None:
                    read_model.wait_for(job.report.position)
        except AggregateNotFoundError:
            refuse(LookupError(f"tenant {tenant!r} has no connection {name!r}"))
        finally:
            rosters.close()
    echo_json(job.summary())
    if not job.ok:
        raise typer.Exit(1)


# LTI -----------------------------------------------------------------------------------


@lti_tools_app.command("update")
def lti_tool_update(
    tenant: TenantArg, client_id: ClientId, file: JsonFile, data_dir: DataDir = None
) -> None:
    """Update a registered tool's settings (the whole body, as for `add`)."""
    from hub.lti.platform import registrations  # noqa: PLC0415
    from hub.lti.platform.errors import LtiRejectedError  # noqa: PLC0415
    from schemas.lti import ToolRegistrationIn  # noqa: PLC0415

    body = body_of(file, ToolRegistrationIn)
    with admin_runtime(data_dir) as runtime:
        known_tenant(runtime, tenant)
        try:
            updated = registrations.update_tool(runtime.hub, tenant, client_id, body)
        except LtiRejectedError as error:
            refuse(ValueError(error.detail))
    echo_json(
        {
            "client_id": client_id,
            "changed": updated.position != 0,
            "position": updated.position or None,
        }
    )


@lti_links_app.command("add")
def lti_link_add(tenant: TenantArg, file: JsonFile, data_dir: DataDir = None) -> None:
    """Place a registered tool in a context (its link_id printed)."""
    from hub.lti.platform import registrations  # noqa: PLC0415
    from hub.lti.platform.errors import LtiRejectedError  # noqa: PLC0415
    from schemas.lti import ResourceLinkIn  # noqa: PLC0415

    body = body_of(file, ResourceLinkIn)
    with admin_runtime(data_dir) as runtime:
        known_tenant(runtime, tenant)
        try:
            made = registrations.create_link(runtime.hub, tenant, body, source="admin")
        except LtiRejectedError as error:
            refuse(ValueError(error.detail))
    echo_json({"link_id": made.id, "position": made.position})


@lti_limits_app.command("show")
def lti_limits_show(tenant: TenantArg, data_dir: DataDir = None) -> None:
    """The tenant's LTI rate limits per endpoint (requests per minute), defaults filled in."""
    from hub.lti import limits  # noqa: PLC0415

    with admin_runtime(data_dir) as runtime:
        known_tenant(runtime, tenant)
        found = limits.read_limits(runtime.hub, tenant)
    echo_json(found.as_dict())


@lti_limits_app.command("set")
def lti_limits_set(tenant: TenantArg, file: JsonFile, data_dir: DataDir = None) -> None:
    """Set the tenant's LTI rate limits (an endpoint left out keeps its default)."""
    from hub.lti import limits  # noqa: PLC0415
    from schemas.lti import RateLimitsIn  # noqa: PLC0415

    body = body_of(file, RateLimitsIn)
    with admin_runtime(data_dir) as runtime:
        known_tenant(runtime, tenant)
        found, position = limits.set_limits(runtime.hub, tenant, body)
    echo_json(found.as_dict() | {"changed": position is not None, "position": position})


@lti_platforms_app.command("add")
def lti_platform_add(tenant: TenantArg, file: JsonFile, data_dir: DataDir = None) -> None:
    """Register a platform (issuer, client_id) that launches the hub, or update it."""
    from hub.lti.tool.registrations import UnknownTenantError, register_platform  # noqa: PLC0415
    from schemas.lti_tool import PlatformRegistrationIn  # noqa: PLC0415

    body = body_of(file, PlatformRegistrationIn)
    with admin_runtime(data_dir) as runtime:
        try:
            done = register_platform(runtime.hub, tenant, body)
        except UnknownTenantError as error:
            refuse(error)
    made = done.registration
    echo_json(
        {
            "id": made.id,
            "name": made.name,
            "issuer": made.issuer,
            "client_id": made.client_id,
            "deployment_ids": made.deployment_ids,
            "position": done.position,
        }
    )


# Badges --------------------------------------------------------------------------------


@badges_app.command("update")
def badges_update(
    tenant: TenantArg,
    key: Annotated[str, typer.Argument(help="The badge's key.")],
    file: JsonFile,
    data_dir: DataDir = None,
) -> None:
    """Change a badge's rule (who earned it keeps it)."""
    from hub import badges  # noqa: PLC0415
    from hub.domain.badges import BadgeError  # noqa: PLC0415
    from hub.http.badges_admin import badge_rule, badge_view  # noqa: PLC0415
    from schemas.badges import BadgeRuleFields  # noqa: PLC0415

    body = body_of(file, BadgeRuleFields)
    with admin_runtime(data_dir) as runtime:
        try:
            done = badges.update_badge(runtime.hub, tenant, badge_rule(key, body))
        except (BadgeError, ValueError) as error:
            refuse(error)
    echo_json(badge_view(done.badge, done.position).model_dump(mode="json"))
