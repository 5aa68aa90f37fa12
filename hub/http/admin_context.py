"""Who did an admin action: the `EventContext` of admin routes and `hub` admin commands.

Every admin action is an event with source `http:admin` (a route) or `cli:admin` (the
`hub` command), and `verified_by` saying how the actor was checked: `admin-token`, or
`client:<client_id>` when an admin-scoped API client calls (the guards of `hub.http.deps`
and `hub.api.scopes` set `request.state.caller`). Auditors find admin actions by the
`*:admin` source.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from uuid import uuid4

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from hub.domain.base import EventContext, event_context

T = TypeVar("T")

HTTP_ADMIN = "http:admin"
CLI_ADMIN = "cli:admin"
# The `hub` command runs with the data folder's secret key: whoever runs it operates the hub.
CLI_VERIFIED_BY = "operator"


def admin_context(request: Request) -> EventContext:
    """The context of an admin route's events: the request's ids and how the actor was checked."""
    state = request.state
    caller = getattr(state, "caller", None)
    verified_by: str = caller.verified_by if caller is not None else "admin-token"
    return EventContext(
        correlation_id=state.correlation_id,
        causation_id=state.request_id,
        source=HTTP_ADMIN,
        verified_by=verified_by,
    )


def cli_admin_context() -> EventContext:
    """The context of a `hub` admin command's events (one correlation id per run)."""
    run = uuid4().hex
    return EventContext(
        correlation_id=run, causation_id=run, source=CLI_ADMIN, verified_by=CLI_VERIFIED_BY
    )


async def run_as_admin(request: Request, call: Callable[[], T]) -> T:
    """Run `call` off the event loop; the events it records carry the admin context."""
    context = admin_context(request)

    def run() -> T:
        with event_context(context):
            return call()

    return await run_in_threadpool(run)
