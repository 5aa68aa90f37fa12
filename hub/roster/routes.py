"""Admin routes for rosters: import a OneRoster bundle (or dry-run it), list imports, download
an import's error rows as CSV.

    POST /api/v1/admin/tenants/{tenant}/roster/imports?dry_run=true   body: the zip
    GET  /api/v1/admin/tenants/{tenant}/roster/imports
    GET  /api/v1/admin/tenants/{tenant}/roster/imports/{import_id}/errors.csv

The upload is streamed to a temporary file and refused past `max_upload_bytes` (413);
a refused bundle answers 422 with each problem, and records nothing.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hub.bootstrap import Runtime, eventsourcing_env
from hub.domain.base import EventContext
from hub.http.admin import NO_STORE, Slug
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
from hub.roster import connector_routes
from hub.roster.bundle import Limits, write_rows
from hub.roster.clients import FULL, SCOPES, TokenSigner, register_client
from hub.roster.commands import import_roster
from hub.roster.errors import BundleRefusedError, RosterBehindError
from hub.roster.importer import ImportReport
from hub.roster.log import Rosters
from hub.roster.ports import RosterReadModel
from hub.roster.rest_routes import install_oneroster_rest
from hub.spark.sessions import session_key

BUNDLE_REFUSED = ProblemType("roster-bundle-refused", "The roster bundle was refused", 422)
BUNDLE_TOO_LARGE = ProblemType("roster-bundle-too-large", "The roster bundle is too large", 413)
ROSTER_BEHIND = ProblemType("roster-behind", "The roster read model is catching up", 503)
ERROR_COLUMNS = ["file", "row", "column", "code", "message"]

router = APIRouter(
    prefix="/api/v1/admin/tenants/{tenant}/roster",
    tags=["admin"],
    responses=problem_responses(401, 404, 422, 503),
)


@dataclass
class RosterRoutes:
    """What the routes use, built once per app (`install_roster`)."""

    rosters: Rosters
    read_model: RosterReadModel
    limits: Limits
    max_upload_bytes: int


def _parts(request: Request) -> RosterRoutes:
    parts: RosterRoutes = request.app.state.roster
    return parts


def _known_tenant(runtime: Runtime, tenant: str) -> None:
    if runtime.hub.tenant(tenant) is None:
        raise ProblemError(NOT_FOUND, f"no tenant is named {tenant!r}")


async def _receive(request: Request, limit: int, into: Path) -> None:
    size = 0
    with into.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ProblemError(
                    BUNDLE_TOO_LARGE, f"bundles of at most {limit} bytes are accepted"
                )
            out.write(chunk)


def report_body(report: ImportReport) -> dict[str, Any]:
    return {
        "tenant": report.tenant,
        "system": report.system,
        "dryRun": report.dry_run,
        "importId": report.import_id,
        "position": report.position,
        "bundleSha256": report.bundle_sha256,
        "modes": report.modes,
        "stats": report.stats_dict(),
        "errors": [error.as_dict() for error in report.errors],
    }


@router.post(
    "/imports",
    summary="Import a OneRoster 1.2 CSV bundle (the zip is the body), or dry-run it",
    responses=problem_responses(413),
)
async def post_import(
    tenant: Slug,
    request: Request,
    runtime: RuntimeDep,
    _: AdminDep,
    dry_run: Annotated[bool, Query(description="Report the changes; record nothing.")] = False,
    system: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9-]+$")] = None,
) -> dict[str, Any]:
    bind_tenant(request, tenant)
    _known_tenant(runtime, tenant)
    parts = _parts(request)
    context = EventContext(
        correlation_id=request.state.correlation_id,
        causation_id=request.state.request_id,
        source="oneroster-csv",
        verified_by="admin-token",
    )
    with tempfile.TemporaryDirectory(prefix="roster-") as folder:
        path = Path(folder) / "bundle.zip"
        await _receive(request, parts.max_upload_bytes, path)
        try:
            report = await run_in_threadpool(
                lambda: import_roster(
                    parts.rosters,
                    path,
                    tenant=tenant,
                    state=parts.read_model,
                    wait_for=parts.read_model.wait_for,
                    dry_run=dry_run,
                    context=context,
                    system=system,
                    job_id=request.state.request_id,
                    limits=parts.limits,
                )
            )
        except BundleRefusedError as error:
            problems = [problem.as_dict() for problem in error.problems]
            raise ProblemError(BUNDLE_REFUSED, str(error), problems=problems) from None
        except RosterBehindError as error:
            raise ProblemError(ROSTER_BEHIND, str(error), headers={"Retry-After": "5"}) from None
    return report_body(report)


@router.get("/imports", summary="The tenant's roster imports that recorded changes")
async def list_imports(
    tenant: Slug, request: Request, runtime: RuntimeDep, _: AdminDep
) -> list[dict[str, Any]]:
    bind_tenant(request, tenant)
    _known_tenant(runtime, tenant)
    found = await run_in_threadpool(_parts(request).read_model.imports, tenant)
    return [vars(summary) for summary in found]


@router.get(
    "/imports/{import_id}/errors.csv",
    summary="An import's error rows (file, row, column, code, message) as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def import_errors_csv(
    tenant: Slug, import_id: str, request: Request, runtime: RuntimeDep, _: AdminDep
) -> Response:
    bind_tenant(request, tenant)
    _known_tenant(runtime, tenant)
    rows = await run_in_threadpool(_parts(request).read_model.import_errors, tenant, import_id)
    if rows is None:
        raise ProblemError(NOT_FOUND, f"tenant {tenant!r} has no roster import {import_id!r}")
    out = io.StringIO()
    write_rows(out, [ERROR_COLUMNS, *([str(row[c]) for c in ERROR_COLUMNS] for row in rows)])
    filename = f"roster-errors-{import_id.rsplit('.', 1)[-1]}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class ClientRequest(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    scopes: list[str] = Field(default_factory=lambda: [FULL], description=" ".join(SCOPES))


class ClientCreated(BaseModel):
    """The client's secret: shown here once, never again."""

    client_id: str
    client_secret: str
    scopes: list[str]


@router.post(
    "/clients",
    status_code=201,
    summary="Register a OneRoster REST client (its secret is shown this once)",
    response_model=ClientCreated,
)
async def post_client(
    tenant: Slug, body: ClientRequest, request: Request, runtime: RuntimeDep, _: AdminDep
) -> JSONResponse:
    bind_tenant(request, tenant)
    _known_tenant(runtime, tenant)
    try:
        made = await run_as_admin(
            request, lambda: register_client(runtime.hub, tenant, body.name, tuple(body.scopes))
        )
    except ValueError as error:
        raise ProblemError(VALIDATION_FAILED, str(error)) from None
    shown = {"client_id": made.client_id, "client_secret": made.client_secret}
    return JSONResponse({**shown, "scopes": list(made.scopes)}, status_code=201, headers=NO_STORE)


def install_roster(
    app: FastAPI,
    runtime: Runtime,
    *,
    read_model: RosterReadModel | None = None,
    limits: Limits | None = None,
    max_upload_bytes: int = 1 << 30,
) -> RosterRoutes:
    """Mount the roster's admin routes; the read model defaults to the SQL one on the
    runtime's database."""
    if read_model is None:
        from infra.sql import make_engine  # noqa: PLC0415
        from projections.roster import SqlRosterReadModel  # noqa: PLC0415 - composition

        read_model = SqlRosterReadModel(make_engine(runtime.settings.resolved_database_url))
    parts = RosterRoutes(
        rosters=Rosters(env=eventsourcing_env(runtime.settings, runtime.nats_url)),
        read_model=read_model,
        limits=limits or Limits(),
        max_upload_bytes=max_upload_bytes,
    )
    app.state.roster = parts
    app.include_router(router)
    app.include_router(connector_routes.router)
    signer = TokenSigner(session_key(runtime.settings))
    install_oneroster_rest(app, runtime.hub, read_model, signer)
    return parts
