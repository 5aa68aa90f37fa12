"""Dependencies of the routes, as `Annotated` aliases: the runtime, readiness, the admin guard."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from hub.api.scopes import ADMIN, Credentials, check_caller, resolve_caller
from hub.bootstrap import Runtime
from hub.http.problems import UNAUTHORIZED, ProblemError
from hub.http.readiness import Readiness


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_readiness(request: Request) -> Readiness:
    readiness: Readiness = request.app.state.readiness
    return readiness


def check_admin_token(request: Request, token: str) -> None:
    """The hub admin token alone, compared in constant time (a form that carries it)."""
    expected: str | None = request.app.state.admin_token
    if expected is None:
        raise ProblemError(UNAUTHORIZED, "the admin API is disabled: set HUB_ADMIN_TOKEN")
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        raise ProblemError(UNAUTHORIZED, "the admin token is wrong")


async def require_admin(request: Request, _: Credentials) -> None:
    """Let the request through with the admin bearer token (compared in constant time), or
    with an API client's token holding the `admin` scope on the tenant the path names."""
    try:
        caller = await resolve_caller(request)
    except ProblemError as error:
        if request.app.state.admin_token is None:
            detail = "the admin API is disabled: set HUB_ADMIN_TOKEN (or use an admin client)"
            raise ProblemError(UNAUTHORIZED, detail, headers=error.headers) from None
        raise
    check_caller(request, caller, ADMIN)
    request.state.caller = caller


# (tenant, learner id) -> the learner's portfolio read model (XP, completed tasks), or None.
ProgressOf = Callable[[str, str], Any]

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ReadinessDep = Annotated[Readiness, Depends(get_readiness)]
AdminDep = Annotated[None, Depends(require_admin)]
