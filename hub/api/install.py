"""Mounts the developer API on the app: clients, tokens, the tenant API and rate limits."""

from __future__ import annotations

from fastapi import FastAPI

from hub.api import client_routes, tenant_routes
from hub.api.clients import ApiTokens
from hub.api.limits import LimitsCache
from hub.api.rate_limit_middleware import ApiRateLimitMiddleware
from hub.bootstrap import Runtime
from hub.spark.sessions import session_key

TAGS = [
    {
        "name": "api clients",
        "description": "OAuth2 client credentials per tenant: clients, tokens, rate limits.",
    },
    {
        "name": "tenant api",
        "description": "A tenant's data, for its API clients (bearer token with scopes).",
    },
]


def install_api(app: FastAPI, runtime: Runtime) -> None:
    """Call last: the rate limiter must be the outermost middleware, so that every answer
    (a problem from another middleware too) carries its headers."""
    settings = runtime.settings
    tokens = ApiTokens(
        session_key(settings),
        ttl_s=settings.api_token_ttl_s,
        client_cache_s=settings.api_client_cache_s,
    )
    limits = LimitsCache(runtime.hub, settings)
    app.openapi_tags = [*(app.openapi_tags or []), *TAGS]
    app.state.api_tokens = tokens
    app.state.api_limits = limits
    app.include_router(client_routes.token_router)
    app.include_router(client_routes.admin_router)
    app.include_router(tenant_routes.router)
    app.add_middleware(
        ApiRateLimitMiddleware,
        limits=limits,
        tokens=tokens,
        address_per_minute=settings.api_rate_limit_address_per_minute,
    )
