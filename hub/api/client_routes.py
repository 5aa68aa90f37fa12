"""API clients over HTTP: the admin routes that manage them, and the OAuth2 token endpoint.

POST   /api/v1/admin/tenants/{tenant}/clients               register (secret shown once)
GET    /api/v1/admin/tenants/{tenant}/clients               list (no secrets)
GET    /api/v1/admin/tenants/{tenant}/clients/{client_id}   read (no secret)
DELETE /api/v1/admin/tenants/{tenant}/clients/{client_id}   revoke
GET|PUT /api/v1/admin/tenants/{tenant}/rate-limits          the tenant's API rate limits
POST   /api/v1/oauth/token                                  client credentials -> token
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hub.api.clients import (
    ApiTokens,
    ClientError,
    UnknownClientError,
    authenticate,
    check_scopes,
    list_clients,
    read_client,
    register_client,
    revoke_client,
)
from hub.api.limits import LimitsCache, RateLimitsIn, RateLimitsView, read_limits, set_limits
from hub.api.scopes import SCOPES, ScopeName
from hub.domain.api_clients import ApiClient, ClientRevokedError
from hub.domain.base import TENANT_SLUG, event_context
from hub.http.admin_context import admin_context
from hub.http.deps import AdminDep, RuntimeDep
from hub.http.middleware import bind_tenant
from hub.http.oauth import (
    TOKEN_ERRORS,
    InvalidScopeError,
    client_credentials,
    oauth_error,
    requested_scopes,
    token_form,
    token_response,
)
from hub.http.problems import NOT_FOUND, ProblemError, ProblemType, problem_responses
from infra.nats_client import NatsConnection

admin_router = APIRouter(
    prefix="/api/v1/admin/tenants/{tenant}",
    tags=["api clients"],
    responses=problem_responses(401, 403, 404, 422, 503),
)
token_router = APIRouter(tags=["api clients"])

CLIENT_REVOKED = ProblemType("client-revoked", "The client is already revoked", 409)
TenantPath = Annotated[str, Path(pattern=TENANT_SLUG.pattern, description="The tenant's slug")]
ClientPath = Annotated[str, Path(pattern=r"^[a-z0-9-]{1,40}\.[0-9a-f]{16}$", max_length=64)]


class ClientRegistration(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200, examples=["Gradebook sync"])]
    scopes: Annotated[list[ScopeName], Field(min_length=1, max_length=len(SCOPES))]


class ClientView(BaseModel):
    client_id: str
    name: str
    scopes: list[str]
    revoked: bool


class ClientCreated(ClientView):
    """The client's secret: shown here once, never again."""

    client_secret: str
    position: int = Field(description="the log position of the registration")


class ClientList(BaseModel):
    clients: list[ClientView]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    scope: str


def _view(client: ApiClient) -> ClientView:
    return ClientView(
        client_id=client.client_id, name=client.name, scopes=client.scopes, revoked=client.revoked
    )


async def check_tenant_exists(request: Request, runtime: RuntimeDep, tenant: str) -> None:
    bind_tenant(request, tenant)
    if await run_in_threadpool(runtime.hub.tenant, tenant) is None:
        raise ProblemError(NOT_FOUND, f"no tenant {tenant!r} is registered")


@admin_router.post(
    "/clients",
    status_code=status.HTTP_201_CREATED,
    summary="Register an API client (its secret is shown once)",
    response_model=ClientCreated,
)
async def create_client(
    tenant: TenantPath,
    body: ClientRegistration,
    request: Request,
    runtime: RuntimeDep,
    _: AdminDep,
) -> JSONResponse:
    await check_tenant_exists(request, runtime, tenant)
    context = admin_context(request)

    def register() -> ClientCreated:
        with event_context(context):
            new = register_client(runtime.hub, tenant, body.name, tuple(body.scopes))
        return ClientCreated(
            client_id=new.client_id,
            name=new.name,
            scopes=list(new.scopes),
            revoked=False,
            client_secret=new.client_secret,
            position=new.position,
        )

    created = await run_in_threadpool(register)
    return JSONResponse(
        created.model_dump(),
        status_code=status.HTTP_201_CREATED,
        headers={
            "Location": f"/api/v1/admin/tenants/{tenant}/clients/{created.client_id}",
            "Cache-Control": "no-store",
        },
    )


@admin_router.get("/clients", summary="List the tenant's API clients (without secrets)")
async def get_clients(
    tenant: TenantPath, request: Request, runtime: RuntimeDep, _: AdminDep
) -> ClientList:
    await check_tenant_exists(request, runtime, tenant)
    connection = NatsConnection.shared(runtime.nats_url)
    prefix = runtime.settings.stream_prefix
    found = await run_in_threadpool(list_clients, runtime.hub, connection, prefix, tenant)
    return ClientList(clients=[_view(client) for client in found])


async def _client(runtime: RuntimeDep, tenant: str, client_id: str) -> ApiClient:
    try:
        return await run_in_threadpool(read_client, runtime.hub, tenant, client_id)
    except UnknownClientError as error:
        raise ProblemError(NOT_FOUND, str(error)) from None


@admin_router.get("/clients/{client_id}", summary="Read an API client (without its secret)")
async def get_client(
    tenant: TenantPath, client_id: ClientPath, request: Request, runtime: RuntimeDep, _: AdminDep
) -> ClientView:
    bind_tenant(request, tenant)
    return _view(await _client(runtime, tenant, client_id))


@admin_router.delete(
    "/clients/{client_id}",
    summary="Revoke an API client: its tokens stop working",
    responses=problem_responses(409),
    description=(
        "At once in the process that answers; in the hub's other processes within"
        " HUB_API_CLIENT_CACHE_S (30 s by default)."
    ),
)
async def delete_client(
    tenant: TenantPath, client_id: ClientPath, request: Request, runtime: RuntimeDep, _: AdminDep
) -> ClientView:
    bind_tenant(request, tenant)
    context = admin_context(request)

    def revoke() -> ApiClient:
        with event_context(context):
            revoke_client(runtime.hub, tenant, client_id, reason="revoked by an admin")
        return read_client(runtime.hub, tenant, client_id)

    try:
        client = await run_in_threadpool(revoke)
    except UnknownClientError as error:
        raise ProblemError(NOT_FOUND, str(error)) from None
    except ClientRevokedError as error:
        raise ProblemError(CLIENT_REVOKED, str(error)) from None
    tokens: ApiTokens = request.app.state.api_tokens
    tokens.remember(client_id, revoked=True)
    return _view(client)


@admin_router.get("/rate-limits", summary="The tenant's API rate limits (per minute)")
async def get_rate_limits(
    tenant: TenantPath, request: Request, runtime: RuntimeDep, _: AdminDep
) -> RateLimitsView:
    await check_tenant_exists(request, runtime, tenant)
    return await run_in_threadpool(read_limits, runtime.hub, runtime.settings, tenant)


@admin_router.put("/rate-limits", summary="Set the tenant's API rate limits (per minute)")
async def put_rate_limits(
    tenant: TenantPath, body: RateLimitsIn, request: Request, runtime: RuntimeDep, _: AdminDep
) -> RateLimitsView:
    await check_tenant_exists(request, runtime, tenant)
    context = admin_context(request)

    def record() -> RateLimitsView:
        with event_context(context):
            set_limits(runtime.hub, tenant, body)
        return read_limits(runtime.hub, runtime.settings, tenant)

    view = await run_in_threadpool(record)
    cache: LimitsCache = request.app.state.api_limits
    cache.forget(tenant)
    return view


_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "scope": {"type": "string", "description": "space-separated subset"},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                    },
                }
            }
        },
    }
}


@token_router.post(
    "/api/v1/oauth/token",
    summary="OAuth2 client credentials: a bearer access token (client auth by Basic or form)",
    response_model=TokenOut,
    responses=TOKEN_ERRORS,
    openapi_extra=_FORM,
)
async def token(request: Request, runtime: RuntimeDep) -> JSONResponse:
    form = await token_form(request)
    grant = form.get("grant_type")
    if not grant:
        return oauth_error(400, "invalid_request", "grant_type is missing")
    if grant != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "only client_credentials")
    client_id, secret = client_credentials(request, form)
    if not client_id or not secret:
        return oauth_error(401, "invalid_client", "authenticate with Basic or the form's fields")
    try:
        client = await run_in_threadpool(authenticate, runtime.hub, client_id, secret)
        scopes = requested_scopes(tuple(client.scopes), form.get("scope"))
        check_scopes(scopes)
    except ClientError as error:
        return oauth_error(401, "invalid_client", str(error))
    except (InvalidScopeError, ValueError) as error:
        return oauth_error(400, "invalid_scope", str(error))
    bind_tenant(request, client.tenant)
    tokens: ApiTokens = request.app.state.api_tokens
    tokens.remember(client.client_id, revoked=False)
    issued = tokens.issue(client, scopes, int(time.time()))
    return token_response(issued, tokens.ttl_s, scopes)
