"""The API's scopes and who is calling: `require_scope(scope)` and the `Caller` it yields.

A caller is the hub admin (the admin bearer token: every scope on every tenant) or an API
client (a bearer access token from `/api/v1/oauth/token`: its scopes, its own tenant
only). `admin` grants every other scope of the client's tenant. A tenant is named by the
route's path parameter `tenant` or `slug`, else its query parameter `tenant`; a client
calling a route that names no tenant is refused (it could reach another tenant's data).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal, get_args

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from hub.http.oauth import TokenError, bearer_token
from hub.http.problems import UNAUTHORIZED, ProblemError, ProblemType

if TYPE_CHECKING:
    from hub.api.clients import Access, ApiTokens

PORTFOLIO_READ = "portfolio:read"
ROSTER_READ = "roster:read"
SCORES_WRITE = "scores:write"
EVENTS_READ = "events:read"
WEBHOOKS_MANAGE = "webhooks:manage"
ADMIN = "admin"
ScopeName = Literal[
    "portfolio:read", "roster:read", "scores:write", "events:read", "webhooks:manage", "admin"
]
SCOPES: tuple[str, ...] = get_args(ScopeName)

INSUFFICIENT_SCOPE = ProblemType("insufficient-scope", "The credential lacks a scope", 403)
OTHER_TENANT = ProblemType("other-tenant", "The credential belongs to another tenant", 403)
ACCESS_STATE_KEY = "api_access"
# auto_error=False: a missing token is answered by `resolve_caller`, as a problem. This is
# here for the OpenAPI document (its security scheme); the header is read by hand.
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="HubBearer",
    description="The hub admin token, or an API access token from POST /api/v1/oauth/token",
)
Credentials = Annotated[
    HTTPAuthorizationCredentials | None, Depends(bearer)
]  # the middleware leaves a verified token's grant here


@dataclass(frozen=True)
class Caller:
    """Who is calling: the hub admin (tenant None) or a client of one tenant."""

    tenant: str | None
    client_id: str | None
    scopes: frozenset[str]
    is_hub_admin: bool

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or ADMIN in self.scopes

    @property
    def verified_by(self) -> str:
        """How the caller was verified, as events record it (`EventContext.verified_by`)."""
        return "admin-token" if self.is_hub_admin else f"client:{self.client_id}"


HUB_ADMIN = Caller(tenant=None, client_id=None, scopes=frozenset(SCOPES), is_hub_admin=True)


def _challenge(error: str | None = None, scope: str | None = None) -> dict[str, str]:
    value = 'Bearer realm="hub"'
    if error:
        value += f', error="{error}"'
    if scope:
        value += f', scope="{scope}"'
    return {"WWW-Authenticate": value}


def _unauthorized(detail: str, error: str | None = "invalid_token") -> ProblemError:
    return ProblemError(UNAUTHORIZED, detail, headers=_challenge(error))


def read_access(request: Request, token: str) -> Access | None:
    """The grant of an API access token (checked by the middleware already, or here), or
    None when this app issues none."""
    tokens: ApiTokens | None = getattr(request.app.state, "api_tokens", None)
    if tokens is None:
        return None
    checked: Access | None = request.scope.get("state", {}).get(ACCESS_STATE_KEY)
    if checked is not None:
        return checked
    try:
        return tokens.read(token, int(time.time()))
    except TokenError as error:
        raise _unauthorized(str(error)) from None


async def check_not_revoked(request: Request, access: Access) -> None:
    tokens: ApiTokens = request.app.state.api_tokens
    revoked = tokens.revoked(access.client_id)
    if revoked is None:
        hub = request.app.state.runtime.hub
        revoked = await run_in_threadpool(tokens.load, hub, access.tenant, access.client_id)
    if revoked:
        raise _unauthorized("the client of this access token is revoked")


async def resolve_caller(request: Request) -> Caller:
    """The caller of this request, from its bearer token (401 problem without a valid one)."""
    token = bearer_token(request.headers.get("Authorization", ""))
    admin_token: str | None = request.app.state.admin_token
    if token is None:
        raise _unauthorized("send 'Authorization: Bearer <token>'", error=None)
    if admin_token is not None and hmac.compare_digest(token.encode(), admin_token.encode()):
        return HUB_ADMIN
    access = read_access(request, token)
    if access is None:
        raise _unauthorized("the admin token is wrong")
    await check_not_revoked(request, access)
    return Caller(access.tenant, access.client_id, access.scopes, is_hub_admin=False)


def named_tenant(request: Request) -> str | None:
    params = request.path_params
    found = params.get("tenant") or params.get("slug") or request.query_params.get("tenant")
    return str(found) if found else None


def check_caller(request: Request, caller: Caller, scope: str) -> None:
    """403 unless the caller holds `scope` for the tenant the request names."""
    if caller.is_hub_admin:
        return
    tenant = named_tenant(request)
    if tenant is None:
        raise ProblemError(
            OTHER_TENANT, "this route is for the hub admin: it names no tenant of yours"
        )
    if tenant != caller.tenant:
        raise ProblemError(
            OTHER_TENANT, f"this client belongs to tenant {caller.tenant!r}, not {tenant!r}"
        )
    if not caller.allows(scope):
        raise ProblemError(
            INSUFFICIENT_SCOPE,
            f"this needs the scope {scope!r}; the token holds {' '.join(sorted(caller.scopes))}",
            headers=_challenge("insufficient_scope", scope),
            required_scope=scope,
        )


def require_scope(scope: str) -> Callable[..., Awaitable[Caller]]:
    """A FastAPI dependency: the caller, if it holds `scope` on the request's tenant."""
    if scope not in SCOPES:
        msg = f"unknown scope {scope!r}"
        raise ValueError(msg)

    async def caller_with_scope(request: Request, _: Credentials) -> Caller:
        caller = await resolve_caller(request)
        check_caller(request, caller, scope)
        request.state.caller = caller
        return caller

    caller_with_scope.__name__ = f"require_{scope.replace(':', '_')}"
    return caller_with_scope
