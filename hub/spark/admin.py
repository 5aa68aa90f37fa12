"""Admin routes for a tenant's Spark connection: connect (secrets shown once), read, rejections."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, HttpUrl
from starlette.concurrency import run_in_threadpool

from hub.audit import rejections
from hub.domain.base import EventContext, event_context
from hub.http.admin import SlugPath
from hub.http.deps import AdminDep, RuntimeDep
from hub.http.middleware import bind_tenant
from hub.http.problems import NOT_FOUND, SPARK_ALREADY_CONNECTED, ProblemError, problem_responses
from hub.spark.connection import (
    DEFAULT_WEBHOOK_LIMIT,
    SparkAlreadyConnectedError,
    SparkSecrets,
    UnknownTenantError,
    connect_spark,
    spark_connection,
)
from hub.spark.ingress import spark_ingress

router = APIRouter(
    prefix="/api/v1/admin/tenants/{slug}/spark",
    tags=["admin"],
    responses=problem_responses(401, 404, 422, 503),
)

Host = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:\[\]-]+$")]


class SparkConnectRequest(BaseModel):
    api_url: HttpUrl = Field(examples=["https://spark.example/api"])
    issuer: str | None = Field(
        default=None,
        max_length=200,
        examples=["spark-lms"],
        description="If set, a token with another `iss` is refused.",
    )
    allowed_evidence_hosts: list[Host] = Field(
        default_factory=list,
        max_length=50,
        description="Hosts whose evidence URLs may be fetched even at a non-public address.",
    )
    webhook_limit_per_minute: int = Field(default=DEFAULT_WEBHOOK_LIMIT, ge=1, le=100_000)
    api_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Spark's API key for course sync, if issued.",
    )


class SparkConnected(BaseModel):
    """The connection's secrets: shown here once, never again."""

    tenant: str
    sso_secret: str
    webhook_secret: str
    api_key: str
    position: int


class SparkConnectionView(BaseModel):
    tenant: str
    api_url: str
    issuer: str | None
    allowed_evidence_hosts: list[str]
    webhook_limit_per_minute: int
    version: int
    created_on: datetime
    modified_on: datetime


class RejectionView(BaseModel):
    position: int
    tenant: str
    kind: str
    reason: str
    detail: str
    received_at: str
    evidence: dict[str, Any]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SparkConnected,
    summary="Connect a tenant to Spark",
    responses=problem_responses(409),
)
async def connect(
    slug: SlugPath, body: SparkConnectRequest, request: Request, runtime: RuntimeDep, _: AdminDep
) -> JSONResponse:
    bind_tenant(request, slug)
    context = EventContext(
        correlation_id=request.state.correlation_id,
        causation_id=request.state.request_id,
        source="http:admin",
        verified_by="admin-token",
    )

    def run() -> SparkSecrets:
        with event_context(context):
            return connect_spark(
                runtime.hub,
                runtime.box,
                slug,
                str(body.api_url),
                issuer=body.issuer,
                allowed_evidence_hosts=body.allowed_evidence_hosts,
                webhook_limit_per_minute=body.webhook_limit_per_minute,
                api_key=body.api_key,
            )

    try:
        made = await run_in_threadpool(run)
    except UnknownTenantError as error:
        raise ProblemError(NOT_FOUND, str(error)) from error
    except (SparkAlreadyConnectedError, IntegrityError) as error:
        raise ProblemError(
            SPARK_ALREADY_CONNECTED,
            f"tenant {slug!r} is already connected to Spark; its secrets were shown when it was",
        ) from error
    out = SparkConnected(
        tenant=made.tenant,
        sso_secret=made.sso_secret,
        webhook_secret=made.webhook_secret,
        api_key=made.api_key,
        position=made.position,
    )
    return JSONResponse(
        out.model_dump(),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/api/v1/admin/tenants/{slug}/spark", "Cache-Control": "no-store"},
    )


@router.get("", summary="Read a tenant's Spark connection (never its secrets)")
async def read(
    slug: SlugPath, request: Request, runtime: RuntimeDep, _: AdminDep
) -> SparkConnectionView:
    bind_tenant(request, slug)
    found = await run_in_threadpool(spark_connection, runtime.hub, slug)
    if found is None:
        raise ProblemError(NOT_FOUND, f"tenant {slug!r} is not connected to Spark")
    return SparkConnectionView(
        tenant=found.tenant,
        api_url=found.api_url,
        issuer=found.issuer,
        allowed_evidence_hosts=list(found.allowed_evidence_hosts),
        webhook_limit_per_minute=found.webhook_limit_per_minute,
        version=found.version,
        created_on=found.created_on,
        modified_on=found.modified_on,
    )


@router.get("/rejections", summary="Rejected Spark signals of the tenant, oldest first")
async def list_rejections(
    slug: SlugPath,
    request: Request,
    runtime: RuntimeDep,
    _: AdminDep,
    after: Annotated[int, Query(ge=0, description="Audit position to read after.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RejectionView]:
    bind_tenant(request, slug)
    nats = spark_ingress(request).nats
    found = await run_in_threadpool(
        rejections, nats, runtime.settings.stream_prefix, slug, after=after, limit=limit
    )
    return [RejectionView(**vars(item)) for item in found]
