"""`install_ops`' work: the session, the backend, the routers, the metrics."""

from __future__ import annotations

from fastapi import FastAPI

from hub.bootstrap import Runtime
from hub.ops import audit_page, metrics_route, overview, pages, static_files
from hub.ops.backend import ops_backend
from hub.ops.metrics import MetricsMiddleware
from hub.ops.session import install_session


def install(app: FastAPI, runtime: Runtime) -> None:
    install_session(app, runtime)
    backend = ops_backend(runtime)
    app.state.ops_backend = backend
    app.state.ops_scrape = metrics_route.scrape_registry(backend)
    app.add_middleware(MetricsMiddleware)
    for module in (overview, pages, audit_page, static_files, metrics_route):
        app.include_router(module.router)
