"""Admin routes for tenants: register, list, read, rename, rotate (new secrets shown once)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hub.application import NewTenant, TenantExistsError
from hub.domain.base import TENANT_SLUG, InvalidTenantError
from hub.domain.tenants import Tenant
from hub.http.admin_context import run_as_admin
from hub.http.deps import AdminDep, RuntimeDep
from hub.http.middleware import bind_tenant
from hub.http.problems import (
    CONCURRENT_CHANGE,
    NOT_FOUND,
    TENANT_EXISTS,
    VALIDATION_FAILED,
    ProblemError,
    problem_responses,
)
from hub.secret_kinds import TenantSecret
from hub.tenants import (
    MAX_PAGE,
    UnknownTenantError,
    list_tenants,
    rename_tenant,
    rotate_tenant_secret,
)

T = TypeVar("T")

router = APIRouter(
    prefix="/api/v1/admin", tags=["admin"], responses=problem_responses(401, 422, 503)
)

_SLUG_RULE = "1-40 lowercase letters, digits or '-'"
Slug = Annotated[
    str, Field(pattern=TENANT_SLUG.pattern, examples=["springfield-high"], description=_SLUG_RULE)
]
SlugPath = Annotated[str, Path(pattern=TENANT_SLUG.pattern, description=_SLUG_RULE)]


TenantName = Annotated[str, Field(min_length=1, max_length=200, examples=["Springfield High"])]
NO_STORE = {"Cache-Control": "no-store"}


class TenantRegistration(BaseModel):
    slug: Slug
    name: TenantName


class TenantUpdate(BaseModel):
    name: TenantName


class TenantSecretRotation(BaseModel):
    which: TenantSecret = Field(description="`api_key` or `webhook`: the old one stops at once.")


class SecretRotated(BaseModel):
    """The new secret: shown here once, never again."""

    tenant: str
    which: str
    secret: str
    position: int = Field(description="the log position of the rotation")


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


class TenantList(BaseModel):
    tenants: list[TenantView]
    next_after: str | None = Field(description="pass as `after` for the next page; null: no more")


def tenant_view(tenant: Tenant) -> TenantView:
    return TenantView(
        slug=tenant.slug,
        name=tenant.name,
        id=tenant.id,
        version=tenant.version,
        created_on=tenant.created_on,
        modified_on=tenant.modified_on,
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

    def register() -> NewTenant:
        return runtime.hub.register_tenant(body.slug, body.name, runtime.box)

    try:
        new = await run_as_admin(request, register)
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
        headers={"Location": f"{router.prefix}/tenants/{new.slug}", **NO_STORE},
    )


@router.get("/tenants", summary="List tenants by slug (without their secrets)")
async def get_tenants(
    runtime: RuntimeDep,
    _: AdminDep,
    after: Annotated[
        str | None, Query(pattern=TENANT_SLUG.pattern, description="List after this slug.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> TenantList:
    page = await run_in_threadpool(lambda: list_tenants(runtime.hub, after=after, limit=limit))
    return TenantList(tenants=[tenant_view(t) for t in page.tenants], next_after=page.next_after)


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
    return tenant_view(tenant)


async def _admin_command(request: Request, slug: str, call: Callable[[], T]) -> T:
    """Run a tenant command as the admin; an unknown tenant is a 404, a race a 409."""
    bind_tenant(request, slug)
    try:
        return await run_as_admin(request, call)
    except UnknownTenantError as error:
        raise ProblemError(NOT_FOUND, str(error)) from error
    except IntegrityError as error:
        raise ProblemError(CONCURRENT_CHANGE, "changed at the same moment: try again") from error


@router.patch(
    "/tenants/{slug}",
    summary="Rename a tenant",
    responses=problem_responses(404, 409),
)
async def update_tenant(
    slug: SlugPath, body: TenantUpdate, request: Request, runtime: RuntimeDep, _: AdminDep
) -> TenantView:
    await _admin_command(request, slug, lambda: rename_tenant(runtime.hub, slug, body.name))
    tenant = await run_in_threadpool(runtime.hub.tenant, slug)
    assert tenant is not None  # it was just renamed
    return tenant_view(tenant)


@router.post(
    "/tenants/{slug}/secrets/rotate",
    status_code=status.HTTP_201_CREATED,
    summary="Rotate the tenant's API key or webhook secret (the new one shown once)",
    response_model=SecretRotated,
    responses=problem_responses(404, 409),
)
async def rotate_tenant_secrets(
    slug: SlugPath, body: TenantSecretRotation, request: Request, runtime: RuntimeDep, _: AdminDep
) -> JSONResponse:
    done = await _admin_command(
        request, slug, lambda: rotate_tenant_secret(runtime.hub, runtime.box, slug, body.which)
    )
    out = SecretRotated(
        tenant=done.tenant, which=done.which, secret=done.secret, position=done.position
    )
    return JSONResponse(out.model_dump(), status_code=status.HTTP_201_CREATED, headers=NO_STORE)
