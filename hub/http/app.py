"""The HTTP app's one composition point: `create_app` (nothing is built at import)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI

from hub.bootstrap import Runtime
from hub.http import admin, health
from hub.http.middleware import RequestContextMiddleware
from hub.http.problems import install_problem_handlers
from hub.http.readiness import Readiness

TAGS = [
    {"name": "operations", "description": "Liveness and readiness probes."},
    {"name": "admin", "description": "Tenants and partners; needs the admin bearer token."},
]


def _version() -> str:
    try:
        return version("edu-hub")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0.0.0"


def create_app(runtime: Runtime, *, readiness: Readiness,
               admin_token: str | None = None) -> FastAPI:
    """The hub's HTTP app on `runtime`; the caller owns the runtime and closes it.

    `admin_token` guards `/api/v1/admin`; without one the admin API answers 401.
    """
    app = FastAPI(
        title="Education integration hub",
        version=_version(),
        summary="Signals from LMSs, LTI platforms and SIS systems, recorded as events.",
        openapi_tags=TAGS,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.runtime = runtime
    app.state.readiness = readiness
    app.state.admin_token = admin_token or None
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.router)
    app.include_router(admin.router)
    return app
