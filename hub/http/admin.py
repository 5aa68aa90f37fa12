"""Admin routes: register a tenant (its secrets shown once) and read it back without them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Path, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hub.application import NewTenant, TenantExistsError
from hub.domain.base import TENANT_SLUG, EventContext, InvalidTenantError, event_context
from hub.domain.tenants import Tenant
from hub.http.deps import AdminDep, RuntimeDep
from hub.http.middleware import bind_tenant
from hub.http.problems import (
    NOT_FOUND,
    TENANT_EXISTS,
    VALIDATION_FAILED,
    ProblemError,
    problem_responses,
)

router = APIRouter(
    prefix="/api/v1/admin", tags=["admin"], responses=problem_responses(401, 422, 503)
)

_SLUG_RULE = "1-40 lowercase letters, digits or '-'"
Slug = Annotated[
    str, Field(pattern=TENANT_SLUG.pattern, examples=["springfield-high"], description=_SLUG_RULE)
]
SlugPath = Annotated[str, Path(pattern=TENANT_SLUG.pattern, description=_SLUG_RULE)]


class TenantRegistration(BaseModel):
    slug: Slug
    name: Annotated[str, Field(min_length=1, max_length=200, examples=["Springfield High"])]


class TenantCreated(BaseModel):
    """The tenant's secrets: shown here once, never again."""

    slug: str
    name: str
    api_key: str
    webhook_secret: str
    position: int = Field(description="the log position of the registration")


class TenantView(BaseModel):
    slug: str
    name: str
    id: str
    version: int
    created_on: datetime
    modified_on: datetime


def _context(request: Request) -> EventContext:
    state = request.state
    return EventContext(
        correlation_id=state.correlation_id,
        causation_id=state.request_id,
        source="http:admin",
        verified_by="admin-token",
    )


@router.post(
    "/tenants",
    status_code=status.HTTP_201_CREATED,
    summary="Register a tenant",
    response_model=TenantCreated,
    responses=problem_responses(409),
)
async def register_tenant(
    body: TenantRegistration, request: Request, runtime: RuntimeDep, _: AdminDep
) -> JSONResponse:
    bind_tenant(request, body.slug)
    context = _context(request)

    def register() -> NewTenant:
        with event_context(context):
            return runtime.hub.register_tenant(body.slug, body.name, runtime.box)

    try:
        new = await run_in_threadpool(register)
    except (TenantExistsError, IntegrityError) as error:
        raise ProblemError(
            TENANT_EXISTS, f"tenant {body.slug!r} is already registered; choose another slug"
        ) from error
    except InvalidTenantError as error:
        raise ProblemError(VALIDATION_FAILED, str(error)) from error
    created = TenantCreated(
        slug=new.slug,
        name=body.name,
        api_key=new.api_key,
        webhook_secret=new.webhook_secret,
        position=new.position,
    )
    return JSONResponse(
        created.model_dump(),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"{router.prefix}/tenants/{new.slug}", "Cache-Control": "no-store"},
    )


@router.get(
    "/tenants/{slug}",
    summary="Read a tenant (without its secrets)",
    responses=problem_responses(404),
)
async def read_tenant(
    slug: SlugPath, request: Request, runtime: RuntimeDep, _: AdminDep
) -> TenantView:
    bind_tenant(request, slug)
    tenant: Tenant | None = await run_in_threadpool(runtime.hub.tenant, slug)
    if tenant is None:
        raise ProblemError(NOT_FOUND, f"no tenant {slug!r} is registered")
    return TenantView(
        slug=tenant.slug,
        name=tenant.name,
        id=tenant.id,
        version=tenant.version,
        created_on=tenant.created_on,
        modified_on=tenant.modified_on,
    )
