"""Admin routes for SIS connections: register one, list them, run one now (or dry-run it).

POST /api/v1/admin/tenants/{tenant}/roster/connectors
GET  /api/v1/admin/tenants/{tenant}/roster/connectors
POST /api/v1/admin/tenants/{tenant}/roster/connectors/{name}/runs?dry_run=true
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from eventsourcing.application import AggregateNotFoundError
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from connectors.sis.connections import (
    ConnectionExistsError,
    all_connections,
    conflicts,
    connector_factory,
    register_connection,
    set_precedence,
)
from connectors.sis.engine import run_sync
from hub.application import Hub
from hub.domain.roster import SisConnection, sis_connection_id
from hub.http.admin import Slug
from hub.http.admin_context import run_as_admin
from hub.http.deps import AdminDep, RuntimeDep
from hub.http.middleware import bind_tenant
from hub.http.problems import (
    NOT_FOUND,
    VALIDATION_FAILED,
    ProblemError,
    ProblemType,
    problem_responses,
)

if TYPE_CHECKING:
    from connectors.sis.engine import SyncJob
    from hub.bootstrap import Runtime
    from hub.roster.log import Rosters
    from hub.roster.ports import RosterReadModel

CONNECTION_EXISTS = ProblemType("sis-connection-exists", "The connection already exists", 409)

router = APIRouter(
    prefix="/api/v1/admin/tenants/{tenant}/roster",
    tags=["admin"],
    responses=problem_responses(401, 404, 422),
)


class ConnectionRequest(BaseModel):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
    kind: Annotated[str, Field(description="oneroster-csv or oneroster-rest")]
    config: dict[str, str] = Field(
        default_factory=dict,
        description="oneroster-csv: path. oneroster-rest: base_url, token_url, client_id, "
        "allow_hosts (comma-separated hosts that may be private), demographics.",
    )
    secret: Annotated[str, Field(description="The REST client's secret (sealed at rest).")] = ""
    schedule: Annotated[str, Field(description="Cron, five fields, UTC; empty: run on demand.")] = (
        ""
    )


def register_requested(runtime: Runtime, tenant: str, body: ConnectionRequest) -> SisConnection:
    """Register the connection a request (or a `hub roster connectors add` file) describes."""
    return register_connection(
        runtime.hub,
        runtime.box,
        tenant=tenant,
        name=body.name,
        kind=body.kind,
        config=body.config,
        secret=body.secret,
        schedule=body.schedule,
    )


def run_connection(
    runtime: Runtime,
    rosters: Rosters,
    read_model: RosterReadModel,
    tenant: str,
    name: str,
    *,
    dry_run: bool,
) -> SyncJob:
    """Run connection `name` of `tenant` now (AggregateNotFoundError when there is none)."""
    return run_sync(
        runtime.hub,
        rosters,
        read_model,
        tenant=tenant,
        name=name,
        connector_for=connector_factory(runtime.box),
        dry_run=dry_run,
    )


def connection_view(connection: SisConnection) -> dict[str, Any]:
    return {
        "name": connection.name,
        "kind": connection.kind,
        "config": connection.config,
        "schedule": connection.schedule,
        "cursor": connection.cursor,
        "lastRunAt": connection.last_run_at,
    }


@router.post(
    "/connectors",
    status_code=201,
    summary="Register a SIS connection",
    responses=problem_responses(409),
)
async def post_connection(
    tenant: Slug, body: ConnectionRequest, request: Request, runtime: RuntimeDep, _: AdminDep
) -> dict[str, Any]:
    bind_tenant(request, tenant)
    if runtime.hub.tenant(tenant) is None:
        raise ProblemError(NOT_FOUND, f"no tenant is named {tenant!r}")
    try:
        made = await run_as_admin(request, lambda: register_requested(runtime, tenant, body))
    except ConnectionExistsError as error:
        raise ProblemError(CONNECTION_EXISTS, str(error)) from None
    except ValueError as error:
        raise ProblemError(VALIDATION_FAILED, str(error)) from None
    return connection_view(made)


@router.get("/connectors", summary="The tenant's SIS connections, cursors and last runs")
async def list_connections(
    tenant: Slug, request: Request, runtime: RuntimeDep, _: AdminDep
) -> list[dict[str, Any]]:
    bind_tenant(request, tenant)
    return await run_in_threadpool(connections_of, runtime.hub, tenant)


def connections_of(hub: Hub, tenant: str) -> list[dict[str, Any]]:
    """The tenant's SIS connections as the admin API shows them (never their secrets)."""
    names = [name for owner, name in all_connections(hub) if owner == tenant]
    return [connection_view(hub.repository.get(sis_connection_id(tenant, n))) for n in names]


@router.post("/connectors/{name}/runs", summary="Run a SIS connection now (or dry-run it)")
async def run_now(
    tenant: Slug,
    name: str,
    request: Request,
    runtime: RuntimeDep,
    _: AdminDep,
    dry_run: Annotated[bool, Query(description="Report the changes; record nothing.")] = False,
) -> dict[str, Any]:
    bind_tenant(request, tenant)
    parts = request.app.state.roster
    try:
        job = await run_in_threadpool(
            lambda: run_connection(
                runtime, parts.rosters, parts.read_model, tenant, name, dry_run=dry_run
            )
        )
    except AggregateNotFoundError:
        raise ProblemError(NOT_FOUND, f"tenant {tenant!r} has no connection {name!r}") from None
    return job.summary()


class PrecedenceRequest(BaseModel):
    systems: Annotated[
        list[str], Field(description="Source systems, the one that wins first (e.g. sims, spark).")
    ]


@router.put("/precedence", summary="Which source wins when two disagree about a person")
async def put_precedence(
    tenant: Slug, body: PrecedenceRequest, request: Request, runtime: RuntimeDep, _: AdminDep
) -> dict[str, Any]:
    bind_tenant(request, tenant)
    if runtime.hub.tenant(tenant) is None:
        raise ProblemError(NOT_FOUND, f"no tenant is named {tenant!r}")
    made = await run_as_admin(request, lambda: set_precedence(runtime.hub, tenant, body.systems))
    return {"systems": made.systems}


@router.get("/conflicts", summary="Where sources disagree about a person, and who won")
async def get_conflicts(
    tenant: Slug, request: Request, runtime: RuntimeDep, _: AdminDep
) -> list[dict[str, Any]]:
    bind_tenant(request, tenant)
    return await run_in_threadpool(conflicts, runtime.hub, tenant)
