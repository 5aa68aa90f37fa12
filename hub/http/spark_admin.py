"""Admin route to run a tenant's Spark course sync (or its dry run) and answer with the report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from connectors.course_sync import (
    SparkNotConnectedError,
    SyncConflictError,
    SyncReport,
    UnknownTenantError,
    sync_tenant,
)
from connectors.spark_api import (
    SparkApiError,
    SparkClients,
    SparkConnectionUnusableError,
    SparkRetryableError,
)
from hub.bootstrap import Runtime
from hub.domain.base import EventContext
from hub.http.admin import Slug
from hub.http.deps import AdminDep, RuntimeDep
from hub.http.middleware import bind_tenant
from hub.http.problems import (
    CONCURRENT_CHANGE,
    NOT_FOUND,
    SIGNAL_REJECTIONS,
    ProblemError,
    ProblemType,
    problem_responses,
)

SPARK_UNREACHABLE = ProblemType("spark-unreachable", "Spark could not be reached", 502)
SPARK_REFUSED = ProblemType("spark-refused", "Spark refused the request", 502)
SPARK_CONNECTION_UNUSABLE = ProblemType(
    "spark-connection-unusable", "The tenant's Spark connection cannot be used", 409
)

router = APIRouter(
    prefix="/api/admin/spark", tags=["admin"], responses=problem_responses(401, 422, 503)
)


class CourseSyncRequest(BaseModel):
    tenant: Slug
    dry_run: Annotated[bool, Field(description="Compare and report; record nothing.")] = False


def _clients(request: Request) -> SparkClients:
    clients: SparkClients = request.app.state.spark_clients
    return clients


@router.post(
    "/sync/courses",
    summary="Sync a tenant's Spark courses and assignments into quests and tasks",
    responses=problem_responses(404, 409, 502),
)
async def sync_courses(
    body: CourseSyncRequest, request: Request, runtime: RuntimeDep, _: AdminDep
) -> SyncReport:
    bind_tenant(request, body.tenant)
    context = EventContext(
        correlation_id=request.state.correlation_id,
        causation_id=request.state.request_id,
        source="spark:course-sync",
        verified_by="api-key",
    )
    try:
        return await run_in_threadpool(
            lambda: sync_tenant(
                runtime.hub, _clients(request), body.tenant, dry_run=body.dry_run, context=context
            )
        )
    except UnknownTenantError as error:
        raise ProblemError(NOT_FOUND, str(error)) from error
    except SparkNotConnectedError as error:
        raise ProblemError(SIGNAL_REJECTIONS["spark_not_connected"], str(error)) from error
    except SyncConflictError as error:
        raise ProblemError(CONCURRENT_CHANGE, str(error)) from error
    except SparkConnectionUnusableError as error:
        raise ProblemError(
            SPARK_CONNECTION_UNUSABLE,
            f"{error.detail}; nothing was sent to Spark or recorded",
            failed_request=error.request,
        ) from error
    except SparkApiError as error:
        raise _spark_problem(error) from error


def _spark_problem(error: SparkApiError) -> ProblemError:
    """A 502 that says which call to Spark failed and how; nothing was recorded."""
    retryable = isinstance(error, SparkRetryableError)
    kind = SPARK_UNREACHABLE if retryable else SPARK_REFUSED
    then = "retry later" if retryable else "fix the Spark connection (URL, API key, allowed hosts)"
    headers = {}
    if isinstance(error, SparkRetryableError) and error.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(error.retry_after)))
    return ProblemError(
        kind,
        f"{error.request} failed: {error.detail}; nothing was recorded; {then}",
        headers=headers,
        failed_request=error.request,
        spark_status=error.status_code,
    )


def install_spark_admin(app: FastAPI, runtime: Runtime) -> None:
    """The route, and the Spark clients it shares (one rate limiter per tenant and process)."""
    app.state.spark_clients = SparkClients(runtime.box)
    app.include_router(router)  # the seed's path, which Spark's side already knows
    # The same operation in the versioned admin API, beside the other admin routes.
    app.add_api_route(
        "/api/v1/admin/spark/sync/courses",
        sync_courses,
        methods=["POST"],
        tags=["admin"],
        summary="Sync a tenant's Spark courses (versioned path)",
        responses=problem_responses(401, 404, 409, 422, 502, 503),
        response_model=SyncReport,
    )
