"""The operations pages: integrations, sync jobs, dead letters (redrive), projections
(rebuild, with its progress as JSON for the page's script). Each reads one read model off
the event loop; each change is a POST form with the session's CSRF token."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from hub.http.problems import ProblemType, problem_responses
from hub.ops.backend import DEAD_LETTERS_SHOWN, OpsBackend
from hub.ops.rebuilds import RUNNING, RebuildJob
from hub.ops.session import AdminPage, admin_form
from hub.ops.web import ops_page, render, rendered
from hub.pages.web import PageError, see_other

SIGN_IN: dict[int | str, dict[str, Any]] = {
    303: {"description": "No admin session: to the sign-in page"}
}
router = APIRouter(tags=["pages"], responses={**SIGN_IN, **problem_responses(403, 413)})
FORM_INVALID = ProblemType("ops-form-invalid", "The form names nothing this hub knows", 422)
UNKNOWN_PROJECTION = ProblemType("unknown-projection", "No such projection", 404)
NO_SUCH_DELIVERY = ProblemType("no-such-delivery", "No such delivery", 404)
DELIVERY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}\.Delivery\.[A-Za-z0-9_-]{1,64}$")


def backend_of(request: Request) -> OpsBackend:
    backend: OpsBackend = request.app.state.ops_backend
    return backend


@router.get("/admin/ops/integrations", response_class=HTMLResponse, summary="Integrations")
async def integrations_page(request: Request, admin: AdminPage) -> HTMLResponse:
    def make(rows: Any) -> str:
        return render(
            "ops/integrations.html", admin=admin, current="/admin/ops/integrations", rows=rows
        )

    reader = backend_of(request).integrations
    return rendered(await run_in_threadpool(reader.derived, admin.csrf, make))


@router.get("/admin/ops/sync", response_class=HTMLResponse, summary="Sync jobs")
async def sync_page(request: Request, admin: AdminPage) -> HTMLResponse:
    def make(runs: Any) -> str:
        return render("ops/sync.html", admin=admin, current="/admin/ops/sync", runs=runs)

    reader = backend_of(request).sync_runs
    return rendered(await run_in_threadpool(reader.derived, admin.csrf, make))


@router.get("/admin/ops/dead-letters", response_class=HTMLResponse, summary="Dead letters")
async def dead_letters_page(request: Request, admin: AdminPage) -> HTMLResponse:
    given = request.query_params.get("redriven", "")
    redriven = int(given) if given.isdigit() and len(given) < 7 else None

    def make(letters: Any) -> str:
        return render(
            "ops/dead_letters.html",
            admin=admin,
            current="/admin/ops/dead-letters",
            letters=letters,
            connectors=sorted({letter.connector for letter in letters}),
            redriven=redriven,
            shown=DEAD_LETTERS_SHOWN,
        )

    reader = backend_of(request).dead_letters
    return rendered(await run_in_threadpool(reader.derived, (admin.csrf, redriven), make))


@router.post(
    "/admin/ops/dead-letters/redrive",
    status_code=303,
    responses=problem_responses(404, 422),
    summary="Redrive one dead letter, or every dead letter of a connector",
)
async def redrive_form(request: Request, admin: AdminPage) -> Response:
    fields = await admin_form(request, admin)
    backend = backend_of(request)
    connector = fields.get("connector", "")
    delivery_id = fields.get("delivery_id") or None
    if connector not in backend.connectors:
        raise PageError(FORM_INVALID, f"no connector delivers {connector[:60]!r}")
    if delivery_id is not None and not DELIVERY_ID.match(delivery_id):
        raise PageError(FORM_INVALID, "the delivery id is not one")
    try:
        done = await run_in_threadpool(backend.redrive, connector, delivery_id)
    except LookupError as error:  # no such delivery in that connector's log
        raise PageError(NO_SUCH_DELIVERY, f"{connector} has no delivery {delivery_id}") from error
    return see_other(f"/admin/ops/dead-letters?redriven={len(done)}")


class RebuildState(BaseModel):
    """A rebuild's progress, as the projections page polls it."""

    name: str
    state: str  # running, done, failed, or idle (none started by this process)
    position: int
    head: int
    percent: int
    version: int | None
    error: str


def _state(name: str, job: RebuildJob | None) -> RebuildState:
    if job is None:
        return RebuildState(
            name=name, state="idle", position=0, head=0, percent=0, version=None, error=""
        )
    return RebuildState(
        name=name,
        state=job.state,
        position=job.position,
        head=job.head,
        percent=job.percent,
        version=job.version,
        error=job.error,
    )


@router.get("/admin/ops/projections", response_class=HTMLResponse, summary="Projections")
async def projections_page(request: Request, admin: AdminPage) -> HTMLResponse:
    backend = backend_of(request)
    statuses = await run_in_threadpool(backend.statuses)
    jobs: dict[str, Any] = {s.name: backend.rebuilds.get(s.name) for s in statuses}
    return await ops_page(
        "ops/projections.html",
        admin=admin,
        current="/admin/ops/projections",
        statuses=statuses,
        jobs={name: _state(name, job) for name, job in jobs.items()},
        running=RUNNING,
    )


def _known(backend: OpsBackend, name: str) -> str:
    if name not in backend.projection_names():
        raise PageError(UNKNOWN_PROJECTION, f"no projection is named {name[:60]!r}")
    return name


@router.post(
    "/admin/ops/projections/rebuild",
    status_code=303,
    responses=problem_responses(404),
    summary="Start rebuilding a projection (in the background; the page shows its progress)",
)
async def rebuild_form(request: Request, admin: AdminPage) -> Response:
    fields = await admin_form(request, admin)
    backend = backend_of(request)
    name = _known(backend, fields.get("name", ""))
    backend.rebuilds.start(name)
    backend.statuses.forget()
    return see_other(f"/admin/ops/projections#{name}")


@router.get(
    "/admin/ops/projections/{name}/rebuild",
    responses=problem_responses(404),
    summary="A rebuild's progress (what the projections page polls)",
)
async def rebuild_state(request: Request, name: str, _: AdminPage) -> RebuildState:
    backend = backend_of(request)
    return _state(_known(backend, name), backend.rebuilds.get(name))
