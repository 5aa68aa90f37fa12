"""Admin routes for a tenant's Spark connection: connect, read, update, rotate, rejections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, HttpUrl
from starlette.concurrency import run_in_threadpool

from hub.audit import rejections
from hub.domain.spark import SparkConnection
from hub.http.admin import NO_STORE, SlugPath
from hub.http.admin_context import run_as_admin
from hub.http.deps import AdminDep, RuntimeDep
from hub.http.middleware import bind_tenant
from hub.http.problems import (
    CONCURRENT_CHANGE,
    NOT_FOUND,
    SPARK_ALREADY_CONNECTED,
    VALIDATION_FAILED,
    ProblemError,
    problem_responses,
)
from hub.secret_kinds import SparkSecret
from hub.spark.connection import (
    DEFAULT_OVERLAP_S,
    DEFAULT_WEBHOOK_LIMIT,
    MAX_OVERLAP_S,
    RotatedSparkSecret,
    SparkAlreadyConnectedError,
    SparkNotConnectedError,
    SparkSecrets,
    UnknownTenantError,
    connect_spark,
    rotate_spark_secret,
    spark_connection,
    update_spark,
)
from hub.spark.ingress import spark_ingress

T = TypeVar("T")

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


class SparkUpdate(BaseModel):
    """Only the fields given change; the secrets change by rotation, not here."""

    api_url: HttpUrl | None = None
    issuer: str | None = Field(default=None, min_length=1, max_length=200)
    clear_issuer: bool = Field(default=False, description="Accept tokens of any `iss` again.")
    allowed_evidence_hosts: list[Host] | None = Field(default=None, max_length=50)
    webhook_limit_per_minute: int | None = Field(default=None, ge=1, le=100_000)
    api_key: str | None = Field(
        default=None, min_length=1, max_length=500, description="Spark's new API key."
    )


class SparkRotation(BaseModel):
    which: SparkSecret = Field(description="`sso` or `webhook`")
    overlap_seconds: int = Field(
        default=DEFAULT_OVERLAP_S,
        ge=0,
        le=MAX_OVERLAP_S,
        description="How long the old secret keeps verifying beside the new one.",
    )


class SparkSecretRotated(BaseModel):
    """The new secret: shown here once, never again."""

    tenant: str
    which: str
    secret: str
    old_secret_valid_until: datetime
    position: int


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

    def run() -> SparkSecrets:
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
        made = await run_as_admin(request, run)
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
        headers={"Location": f"/api/v1/admin/tenants/{slug}/spark", **NO_STORE},
    )


async def _change(request: Request, slug: str, call: Callable[[], T]) -> T:
    bind_tenant(request, slug)
    try:
        return await run_as_admin(request, call)
    except SparkNotConnectedError as error:
        raise ProblemError(NOT_FOUND, str(error)) from error
    except ValueError as error:
        raise ProblemError(VALIDATION_FAILED, str(error)) from error
    except IntegrityError as error:
        raise ProblemError(CONCURRENT_CHANGE, "changed at the same moment: try again") from error


@router.patch(
    "",
    summary="Update a tenant's Spark connection (API URL and key, issuer, hosts, limit)",
    responses=problem_responses(409),
)
async def update(
    slug: SlugPath, body: SparkUpdate, request: Request, runtime: RuntimeDep, _: AdminDep
) -> SparkConnectionView:
    await _change(
        request,
        slug,
        lambda: update_spark(
            runtime.hub,
            runtime.box,
            slug,
            api_url=None if body.api_url is None else str(body.api_url),
            issuer=body.issuer,
            clear_issuer=body.clear_issuer,
            allowed_evidence_hosts=body.allowed_evidence_hosts,
            webhook_limit_per_minute=body.webhook_limit_per_minute,
            api_key=body.api_key,
        ),
    )
    return await read(slug, request, runtime, None)


@router.post(
    "/secrets/rotate",
    status_code=status.HTTP_201_CREATED,
    response_model=SparkSecretRotated,
    summary="Rotate the SSO or webhook secret; the old one verifies until the overlap ends",
    responses=problem_responses(409),
)
async def rotate(
    slug: SlugPath, body: SparkRotation, request: Request, runtime: RuntimeDep, _: AdminDep
) -> JSONResponse:
    done: RotatedSparkSecret = await _change(
        request,
        slug,
        lambda: rotate_spark_secret(
            runtime.hub, runtime.box, slug, body.which, overlap_s=body.overlap_seconds
        ),
    )
    out = SparkSecretRotated(
        tenant=done.tenant,
        which=done.which,
        secret=done.secret,
        old_secret_valid_until=datetime.fromtimestamp(done.retired_until, UTC),
        position=done.position,
    )
    return JSONResponse(
        out.model_dump(mode="json"), status_code=status.HTTP_201_CREATED, headers=NO_STORE
    )


@router.get("", summary="Read a tenant's Spark connection (never its secrets)")
async def read(
    slug: SlugPath, request: Request, runtime: RuntimeDep, _: AdminDep
) -> SparkConnectionView:
    bind_tenant(request, slug)
    found = await run_in_threadpool(spark_connection, runtime.hub, slug)
    if found is None:
        raise ProblemError(NOT_FOUND, f"tenant {slug!r} is not connected to Spark")
    return connection_view(found)


def connection_view(found: SparkConnection) -> SparkConnectionView:
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
