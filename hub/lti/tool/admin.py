"""Admin route: register (or update) a platform that launches the hub as a tool."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool

from hub.domain.base import TENANT_SLUG, event_context
from hub.http.admin_context import admin_context
from hub.http.deps import AdminDep, RuntimeDep
from hub.http.middleware import bind_tenant
from hub.http.problems import NOT_FOUND, ProblemError, problem_responses
from hub.lti.tool.registrations import Registered, UnknownTenantError, register_platform
from schemas.lti_tool import PlatformRegistrationIn, PlatformRegistrationOut

router = APIRouter(
    prefix="/api/v1/admin/lti/tool", tags=["admin"], responses=problem_responses(401, 422, 503)
)
SlugPath = Annotated[str, Path(pattern=TENANT_SLUG.pattern)]


@router.put(
    "/{tenant}/platforms",
    response_model=PlatformRegistrationOut,
    responses=problem_responses(404),
    summary="Register a platform (issuer, client_id) that launches the hub, or update it",
)
async def put_platform(
    tenant: SlugPath,
    given: PlatformRegistrationIn,
    request: Request,
    runtime: RuntimeDep,
    _: AdminDep,
) -> PlatformRegistrationOut:
    bind_tenant(request, tenant)
    context = admin_context(request)

    def command() -> Registered:
        with event_context(context):
            return register_platform(runtime.hub, tenant, given)

    try:
        done = await run_in_threadpool(command)
    except UnknownTenantError as error:
        raise ProblemError(NOT_FOUND, str(error)) from error
    registration = done.registration
    base = f"{request.url.scheme}://{request.url.netloc}"
    return PlatformRegistrationOut(
        id=registration.id,
        name=registration.name,
        issuer=registration.issuer,
        client_id=registration.client_id,
        deployment_ids=registration.deployment_ids,
        auth_login_url=registration.auth_login_url,
        auth_token_url=registration.auth_token_url,
        jwks_url=registration.jwks_url,
        login_url=f"{base}/t/{tenant}/api/lti/tool/login",
        launch_url=f"{base}/api/lti/tool/launch",
        jwks_of_hub=f"{base}/t/{tenant}/api/lti/jwks.json",
        position=done.position,
    )
