"""Admin routes of the LTI platform: register tools, place links, rotate the tenant's keys."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.domain.base import event_context
from hub.domain.lti_keys import KeyStateError
from hub.domain.lti_platform import registration_id
from hub.http.admin import SlugPath
from hub.http.admin_context import admin_context
from hub.http.deps import AdminDep
from hub.http.middleware import bind_tenant
from hub.http.problems import (
    NOT_FOUND,
    VALIDATION_FAILED,
    ProblemError,
    ProblemType,
    problem_responses,
)
from hub.lti import limits
from hub.lti.keys import UnknownTenantError
from hub.lti.platform import registrations
from hub.lti.platform.errors import LtiRejectedError
from hub.lti.platform.state import LTI_REJECTIONS, lti_platform
from hub.lti.platform.urls import PlatformUrls
from schemas.lti import RateLimitsIn, ResourceLinkIn, ToolRegistrationIn

router = APIRouter(
    prefix="/api/v1/admin/tenants/{tenant}/lti",
    tags=["admin"],
    responses=problem_responses(400, 401, 404, 409, 422),
)
TOOL_EXISTS = ProblemType(
    "lti-tool-exists", "A tool with this client_id is already registered", 409
)


async def _run(request: Request, tenant: str, call: Any, *args: Any) -> Any:
    bind_tenant(request, tenant)
    platform = lti_platform(request)
    if await run_in_threadpool(platform.runtime.hub.tenant, tenant) is None:
        raise ProblemError(NOT_FOUND, f"no tenant {tenant!r} is registered")
    context = admin_context(request)

    def run() -> Any:
        with event_context(context):
            return call(*args)

    try:
        return await run_in_threadpool(run)
    except LtiRejectedError as error:
        raise ProblemError(LTI_REJECTIONS[error.reason], error.detail) from error
    except registrations.ToolExistsError as error:
        raise ProblemError(TOOL_EXISTS, str(error)) from error
    except (KeyStateError, UnknownTenantError) as error:
        raise ProblemError(VALIDATION_FAILED, str(error)) from error


def _platform_settings(urls: PlatformUrls) -> dict[str, str]:
    """What the tool's admin enters on their side."""
    return {
        "issuer": urls.issuer,
        "authorization_url": urls.authorize,
        "token_url": urls.token,
        "jwks_url": urls.jwks,
        "deep_link_return_url": urls.deep_link_return,
    }


@router.post("/tools", status_code=status.HTTP_201_CREATED, summary="Register an LTI tool")
async def register_tool(
    tenant: SlugPath, body: ToolRegistrationIn, request: Request, _: AdminDep
) -> JSONResponse:
    platform = lti_platform(request)
    created = await _run(
        request, tenant, registrations.register_tool, platform.runtime.hub, tenant, body
    )
    urls = PlatformUrls.of(request, tenant)
    return JSONResponse(
        {
            "client_id": created.id,
            "deployment_ids": body.deployment_ids,
            "position": created.position,
            "platform": _platform_settings(urls),
        },
        status_code=201,
    )


@router.put("/tools/{client_id}", summary="Update a registered tool's settings")
async def update_tool(
    tenant: SlugPath, client_id: str, body: ToolRegistrationIn, request: Request, _: AdminDep
) -> JSONResponse:
    platform = lti_platform(request)
    updated = await _run(
        request, tenant, registrations.update_tool, platform.runtime.hub, tenant, client_id, body
    )
    platform.reads.forget(registration_id(tenant, client_id))
    platform.tool_keys.forget(tenant, body.model_dump(mode="json"))
    return JSONResponse(
        {
            "client_id": client_id,
            "deployment_ids": body.deployment_ids,
            "changed": updated.position != 0,
            "position": updated.position or None,
        }
    )


@router.get("/tools/{client_id}", summary="Read a registered tool and the platform's settings")
async def read_tool(
    tenant: SlugPath, client_id: str, request: Request, _: AdminDep
) -> JSONResponse:
    platform = lti_platform(request)
    tool = await _run(
        request, tenant, registrations.registration, platform.runtime.hub, tenant, client_id
    )
    return JSONResponse(
        {
            "client_id": tool.client_id,
            "settings": tool.settings,
            "version": tool.version,
            "platform": _platform_settings(PlatformUrls.of(request, tenant)),
        }
    )


@router.post(
    "/tools/{client_id}/keys/refresh",
    summary="Forget the tool's cached JWKS (after an emergency key change on its side)",
)
async def refresh_tool_keys(
    tenant: SlugPath, client_id: str, request: Request, _: AdminDep
) -> JSONResponse:
    platform = lti_platform(request)
    tool = await _run(
        request, tenant, registrations.registration, platform.runtime.hub, tenant, client_id
    )
    platform.tool_keys.forget(tenant, tool.settings)
    return JSONResponse({"client_id": client_id, "refreshed": True})


@router.post("/links", status_code=status.HTTP_201_CREATED, summary="Place a tool in a context")
async def create_link(
    tenant: SlugPath, body: ResourceLinkIn, request: Request, _: AdminDep
) -> JSONResponse:
    platform = lti_platform(request)
    created = await _run(
        request,
        tenant,
        partial(registrations.create_link, source="admin"),
        platform.runtime.hub,
        tenant,
        body,
    )
    return JSONResponse(
        {
            "link_id": created.id,
            "launch_url": f"{PlatformUrls.of(request, tenant).issuer}/lti/launch/{created.id}",
            "position": created.position,
        },
        status_code=201,
    )


@router.get("/keys", summary="The tenant's LTI signing keys (public parts, with status)")
async def read_keys(tenant: SlugPath, request: Request, _: AdminDep) -> JSONResponse:
    keys = lti_platform(request).keys
    ring = await _run(request, tenant, keys.ring, tenant)
    shown = [
        {"kid": k["kid"], "status": k["status"], "added_at": k["added_at"]}
        for k in ring.keys.values()
    ]
    return JSONResponse({"keys": shown})


@router.post("/keys/rotate", summary="Make a new active key; the old one starts retiring")
async def rotate_key(tenant: SlugPath, request: Request, _: AdminDep) -> JSONResponse:
    keys = lti_platform(request).keys
    kid = await _run(request, tenant, keys.rotate, tenant)
    return JSONResponse({"kid": kid, "status": "active"})


@router.post("/keys/{kid}/retire", summary="Stop publishing a retiring key")
async def retire_key(tenant: SlugPath, kid: str, request: Request, _: AdminDep) -> JSONResponse:
    keys = lti_platform(request).keys
    await _run(request, tenant, keys.retire, tenant, kid)
    return JSONResponse({"kid": kid, "status": "retired"})


@router.get("/rate-limits", summary="The tenant's LTI rate limits (requests per minute)")
async def read_rate_limits(tenant: SlugPath, request: Request, _: AdminDep) -> JSONResponse:
    hub = lti_platform(request).runtime.hub
    found = await _run(request, tenant, limits.read_limits, hub, tenant)
    return JSONResponse(found.as_dict())


@router.put(
    "/rate-limits",
    summary="Set the tenant's LTI rate limits (an endpoint left out keeps its default)",
)
async def set_rate_limits(
    tenant: SlugPath, body: RateLimitsIn, request: Request, _: AdminDep
) -> JSONResponse:
    hub = lti_platform(request).runtime.hub
    found, position = await _run(request, tenant, limits.set_limits, hub, tenant, body)
    limits.limiter_for(hub).forget(tenant)
    return JSONResponse(found.as_dict() | {"changed": position is not None, "position": position})
