"""Mount the LTI platform on the HTTP app: keys (JWKS), launches, services, admin routes."""

from __future__ import annotations

from fastapi import FastAPI

from hub.bootstrap import Runtime
from hub.lti.keys import install_lti_keys
from hub.lti.platform import admin_routes, launch_routes, service_routes
from hub.lti.platform.readers import MembersOf, ResultsOf
from hub.lti.platform.reads import RecentReads
from hub.lti.platform.state import LtiPlatform
from hub.lti.platform.tool_keys import ToolKeyCache
from hub.spark.sessions import SessionSigner, session_key


def install_lti_platform(
    app: FastAPI,
    runtime: Runtime,
    *,
    members: MembersOf | None = None,
    results: ResultsOf | None = None,
) -> LtiPlatform:
    """`members` and `results` read the roster and gradebook read models (NRPS, AGS
    results); `set_lti_readers` gives them later when the app is built without them."""
    platform = LtiPlatform(
        runtime=runtime,
        keys=install_lti_keys(app, runtime),
        signer=SessionSigner(session_key(runtime.settings)),
        tool_keys=ToolKeyCache(),
        reads=RecentReads(runtime.hub),
        members=members,
        results=results,
    )
    app.state.lti_platform = platform
    app.include_router(launch_routes.router)
    app.include_router(service_routes.router)
    app.include_router(service_routes.lean_router)
    app.include_router(admin_routes.router)
    return platform


def set_lti_readers(app: FastAPI, members: MembersOf, results: ResultsOf) -> None:
    platform: LtiPlatform = app.state.lti_platform
    platform.members = members
    platform.results = results
