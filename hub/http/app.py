"""The HTTP app's one composition point: `create_app` (nothing is built at import)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from eventsourcing.application import Application
from fastapi import FastAPI
from sqlalchemy import Engine

from hub.accounts.routes import install_accounts
from hub.api.install import install_api
from hub.bootstrap import Runtime, eventsourcing_env
from hub.caliper.admin import install_caliper
from hub.eventschemas.routes import install_event_schemas
from hub.family.routes import install_family
from hub.http import admin, health
from hub.http.audit_api import install_audit_api
from hub.http.badges_admin import install_badges_admin
from hub.http.deps import ProgressOf
from hub.http.middleware import RequestContextMiddleware
from hub.http.openapi_doc import install_openapi
from hub.http.problems import install_problem_handlers
from hub.http.readiness import Readiness, no_projections, runtime_readiness
from hub.http.spark_admin import install_spark_admin
from hub.inbound.install import install_inbound
from hub.lti.platform.install import install_lti_platform, set_lti_readers
from hub.lti.platform.readers import LtiReadersOf
from hub.lti.tool.routes import install_lti_tool
from hub.ops import install_ops
from hub.pages import install_pages
from hub.pages.readers import PageReaders
from hub.roster.routes import install_roster
from hub.spark.routes import install_spark
from hub.webhooks.routes import install_webhooks
from infra.jetstream.loop_wires import close_wires_here
from infra.sql import make_engine

TAGS = [
    {"name": "operations", "description": "Liveness and readiness probes."},
    {"name": "admin", "description": "Tenants and partners; needs the admin bearer token."},
    {"name": "spark", "description": "Spark LMS: SSO sign-in and signed webhooks."},
    {"name": "pages", "description": "Server-rendered pages for learners and families."},
    {"name": "webhooks", "description": "Developer webhook subscriptions, signed deliveries."},
    {"name": "schemas", "description": "JSON Schemas of the event types; AsyncAPI of NATS."},
    {
        "name": "oneroster",
        "description": "OneRoster 1.2 REST publisher; OAuth2 client credentials.",
    },
]
StatusesOf = Callable[[Application[Any], Engine], Sequence[object]]
PortfolioOf = Callable[[Engine, str, str], Any]
PagesOf = Callable[[Engine, Mapping[str, str]], PageReaders]  # projections.portfolio_pages


def _version() -> str:
    try:
        return version("edu-hub")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0.0.0"


def create_app(
    runtime: Runtime,
    *,
    readiness: Readiness,
    admin_token: str | None = None,
    on_shutdown: Sequence[Callable[[], None]] = (),
    learning_progress: ProgressOf | None = None,
) -> FastAPI:
    """The hub's HTTP app on `runtime`; the caller owns the runtime and closes it.

    `admin_token` guards `/api/v1/admin` (default: `HUB_ADMIN_TOKEN` from the runtime's
    settings; with neither, the admin API answers 401). `on_shutdown` runs when the
    server stops, for what was made for this app alone (its read-model engine).
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await close_wires_here()
        for close in on_shutdown:
            close()

    app = FastAPI(
        title="Education integration hub",
        version=_version(),
        summary="Signals from LMSs, LTI platforms and SIS systems, recorded as events.",
        openapi_tags=TAGS,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
        # FastAPI's native OpenTelemetry looks its providers up in os.environ on every
        # request (about 50 us); the hub reports through structlog and its own metrics.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    configured = runtime.settings.admin_token
    app.state.runtime = runtime
    app.state.learning_progress = learning_progress
    app.state.readiness = readiness
    app.state.admin_token = admin_token or (configured.get_secret_value() if configured else None)
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    # Routes are matched in order, one included router after another: the partners' hot
    # ingress paths (Spark webhooks and SSO, LTI launches and services) come first.
    install_spark(app, runtime)
    install_lti_platform(app, runtime)
    install_lti_tool(app, runtime)
    app.include_router(health.router)
    app.include_router(admin.router)
    install_spark_admin(app, runtime)
    install_pages(app, runtime)
    install_roster(app, runtime)
    install_family(app, runtime)
    install_caliper(app, runtime)
    install_badges_admin(app, runtime)
    install_accounts(app, runtime)
    install_audit_api(app, runtime)
    install_webhooks(app, runtime)
    install_event_schemas(app, runtime)  # /api/v1/schemas/events, /asyncapi.json
    install_ops(app, runtime)
    install_api(app, runtime)  # last: its rate limiter is the outermost middleware
    install_openapi(app)
    return app


def build_http_app(
    runtime: Runtime,
    *,
    admin_token: str | None = None,
    projection_statuses: StatusesOf | None = None,
    portfolio: PortfolioOf | None = None,
    lti_readers: LtiReadersOf | None = None,
    pages: PagesOf | None = None,
) -> FastAPI:
    """The app as `hub serve` and `hub run` start it: readiness on the runtime's NATS, the
    read-model database of its settings, `projection_statuses(runtime.hub, engine)` and
    `portfolio(engine, tenant, learner_id)` for the pages (pass `projections.
    projection_statuses` and `projections.portfolio.portfolio`; `hub` does not import
    `projections`).
    """
    engine = make_engine(runtime.settings.resolved_database_url)
    statuses: Callable[[], Sequence[object]] = no_projections
    if projection_statuses is not None:

        def statuses() -> Sequence[object]:
            return projection_statuses(runtime.hub, engine)

    readiness = runtime_readiness(runtime, engine, projections=statuses)
    progress: ProgressOf | None = None
    if portfolio is not None:

        def progress(tenant: str, learner_id: str) -> Any:
            return portfolio(engine, tenant, learner_id)

    app = create_app(
        runtime,
        readiness=readiness,
        admin_token=admin_token,
        on_shutdown=[engine.dispose],
        learning_progress=progress,
    )
    install_inbound(app, runtime)  # NATS inbound subscribers, served with the HTTP ingress
    if lti_readers is not None:  # NRPS and AGS results (pass projections.gradebook.lti_readers)
        set_lti_readers(app, *lti_readers(engine))
    if pages is not None:  # the pages' readers (portfolio as of a date, badges, family)
        env = eventsourcing_env(runtime.settings, runtime.nats_url)
        app.state.page_readers = pages(engine, env)
    return app
