"""Admin routes for a tenant's Caliper: its settings (the token write-only) and its deliveries."""

from __future__ import annotations

from typing import Annotated, Literal

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel, Field, HttpUrl
from starlette.concurrency import run_in_threadpool

from hub.bootstrap import Runtime
from hub.caliper.settings import (
    EVENT_TYPES,
    CaliperConfig,
    CaliperSettings,
    UnknownTenantError,
    configure_caliper,
    read_settings,
)
from hub.domain.base import event_context
from hub.http.admin import SlugPath
from hub.http.admin_context import admin_context
from hub.http.deps import AdminDep, RuntimeDep
from hub.http.middleware import bind_tenant
from hub.http.problems import CONCURRENT_CHANGE, NOT_FOUND, ProblemError, problem_responses

router = APIRouter(
    prefix="/api/v1/admin/tenants/{slug}/caliper",
    tags=["admin"],
    responses=problem_responses(401, 404, 422, 503),
)

EventType = Literal[
    "SessionEvent",
    "ToolLaunchEvent",
    "NavigationEvent",
    "ViewEvent",
    "AssignableEvent",
    "AssessmentEvent",
    "GradeEvent",
]
Status = Literal["retrying", "delivered", "dead-lettered"]


class CaliperSettingsBody(BaseModel):
    """What an admin sets; absent fields take their defaults (Caliper on, every event type)."""

    enabled: bool = True
    event_types: Annotated[
        list[EventType], Field(description="The Caliper event types this tenant receives.")
    ] = list(EVENT_TYPES)  # type: ignore[arg-type]
    pseudonymous: Annotated[
        bool, Field(description="Persons as keyed hashes: no hub id, name or email leaves.")
    ] = False
    endpoint_url: Annotated[
        HttpUrl | None, Field(description="Where envelopes are POSTed; none: NATS only.")
    ] = None
    bearer_token: Annotated[
        str | None,
        Field(
            max_length=4096,
            description="Sent as `Authorization: Bearer`; write-only. Omit to keep the "
            'stored one, "" to remove it.',
        ),
    ] = None
    allowed_hosts: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=253)]],
        Field(max_length=20, description="Hosts allowed to resolve to private addresses."),
    ] = []


class CaliperSettingsView(BaseModel):
    """A tenant's Caliper settings as stored (never the token itself)."""

    tenant: str
    enabled: bool
    event_types: list[str]
    pseudonymous: bool
    endpoint_url: str | None
    has_bearer_token: bool
    allowed_hosts: list[str]
    subjects: str = Field(description="The NATS subjects of this tenant's envelopes.")
    version: int


class DeliveryRow(BaseModel):
    delivery_id: str
    target: str
    events: int
    first_seq: int
    last_seq: int
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str
    next_attempt_at: str | None
    scheduled_at: str
    updated_at: str


class DeliveryReport(BaseModel):
    """Counts per status (deliveries and the events they hold), then the newest deliveries."""

    tenant: str
    summary: dict[str, dict[str, int]]
    deliveries: list[DeliveryRow]


def caliper_config(body: CaliperSettingsBody) -> CaliperConfig:
    return CaliperConfig(
        enabled=body.enabled,
        event_types=tuple(body.event_types),
        pseudonymous=body.pseudonymous,
        endpoint_url=None if body.endpoint_url is None else str(body.endpoint_url),
        bearer_token=body.bearer_token,
        allowed_hosts=tuple(body.allowed_hosts),
    )


def caliper_view(runtime: Runtime, tenant: str, settings: CaliperSettings) -> CaliperSettingsView:
    return CaliperSettingsView(
        tenant=tenant,
        enabled=settings.enabled,
        event_types=list(settings.event_types),
        pseudonymous=settings.pseudonymous,
        endpoint_url=settings.endpoint_url,
        has_bearer_token=settings.token_sealed is not None,
        allowed_hosts=list(settings.allowed_hosts),
        subjects=f"{runtime.settings.stream_prefix}.caliper.{tenant}.>",
        version=settings.version,
    )


def _settings_or_404(runtime: Runtime, slug: str) -> CaliperSettings:
    settings = read_settings(runtime.hub, slug)
    if settings is None:
        raise ProblemError(NOT_FOUND, f"tenant {slug!r} has no Caliper settings; PUT them first")
    return settings


@router.put("", summary="Set a tenant's Caliper settings")
async def put_settings(
    slug: SlugPath,
    body: CaliperSettingsBody,
    request: Request,
    runtime: RuntimeDep,
    _: AdminDep,
) -> CaliperSettingsView:
    bind_tenant(request, slug)
    config = caliper_config(body)
    context = admin_context(request)

    def configure() -> CaliperSettings:
        with event_context(context):
            configure_caliper(runtime.hub, runtime.box, slug, config)
        return _settings_or_404(runtime, slug)

    try:
        settings = await run_in_threadpool(configure)
    except UnknownTenantError as error:
        raise ProblemError(NOT_FOUND, str(error)) from error
    except IntegrityError as error:
        raise ProblemError(
            CONCURRENT_CHANGE, "the settings changed meanwhile; read them and try again"
        ) from error
    return caliper_view(runtime, slug, settings)


@router.get("", summary="Read a tenant's Caliper settings (without the bearer token)")
async def get_settings(
    slug: SlugPath, request: Request, runtime: RuntimeDep, _: AdminDep
) -> CaliperSettingsView:
    bind_tenant(request, slug)
    settings = await run_in_threadpool(_settings_or_404, runtime, slug)
    return caliper_view(runtime, slug, settings)


@router.get("/deliveries", summary="A tenant's Caliper HTTP deliveries, from the read model")
async def get_deliveries(
    slug: SlugPath,
    request: Request,
    runtime: RuntimeDep,
    _: AdminDep,
    status: Annotated[Status | None, Query(description="Only this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryReport:
    bind_tenant(request, slug)

    def read() -> DeliveryReport:
        # The read model's readers; imported here so that `hub` does not import
        # `projections` at load time (the composition root joins them).
        from infra.sql import make_engine  # noqa: PLC0415
        from projections.caliper_status import delivery_report  # noqa: PLC0415

        engine = make_engine(runtime.settings.resolved_database_url)
        try:
            summary, rows = delivery_report(engine, slug, status=status, limit=limit)
        finally:
            engine.dispose()
        return DeliveryReport(
            tenant=slug,
            summary=summary,
            deliveries=[DeliveryRow(**vars(row)) for row in rows],
        )

    return await run_in_threadpool(read)


def install_caliper(app: FastAPI, runtime: Runtime) -> None:
    """The Caliper admin routes."""
    app.include_router(router)
