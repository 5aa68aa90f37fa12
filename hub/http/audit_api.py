"""`GET /api/v1/admin/audit`: every verdict (accepted, rejected, admin action), searched."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Query
from starlette.concurrency import run_in_threadpool

from hub.bootstrap import Runtime
from hub.http.deps import AdminDep, RuntimeDep
from hub.http.problems import problem_responses
from schemas.audit import AuditEntry, AuditQuery, AuditResults

router = APIRouter(prefix="/api/v1/admin/audit", tags=["admin"])


def find_verdicts(runtime: Runtime, query: AuditQuery) -> AuditResults:
    """The page of the audit read model that `query` asks for (blocking: call in a thread)."""
    # The read model's reader, imported here: `hub` does not import `projections` at load
    # time (the composition root joins them).
    from infra.sql import make_engine  # noqa: PLC0415
    from projections.audit_view import search_audit  # noqa: PLC0415

    engine = make_engine(runtime.settings.resolved_database_url)
    try:
        page = search_audit(engine, query)
    finally:
        engine.dispose()
    return AuditResults(
        entries=[AuditEntry.model_validate(vars(row)) for row in page.rows],
        next_cursor=page.next_cursor,
    )


@router.get(
    "",
    summary="Search the audit log: accepted and rejected signals, admin actions",
    responses=problem_responses(401, 422, 503),
)
async def search(
    query: Annotated[AuditQuery, Query()], runtime: RuntimeDep, _: AdminDep
) -> AuditResults:
    """Newest first; pass a page's `next_cursor` as `cursor` for the next one. Rows come
    from the `audit` read model, a projection of the event log and the audit stream."""
    return await run_in_threadpool(find_verdicts, runtime, query)


def install_audit_api(app: FastAPI, runtime: Runtime) -> None:
    app.include_router(router)
