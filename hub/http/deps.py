"""Dependencies of the routes, as `Annotated` aliases: the runtime, readiness, the admin guard."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.bootstrap import Runtime
from hub.http.problems import UNAUTHORIZED, ProblemError
from hub.http.readiness import Readiness

# auto_error=False: a missing token is answered by `require_admin`, as a problem.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AdminToken",
    description="The hub's admin token (HUB_ADMIN_TOKEN)",
)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_readiness(request: Request) -> Readiness:
    readiness: Readiness = request.app.state.readiness
    return readiness


def require_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Let the request through only with the admin bearer token (compared in constant time)."""
    expected: str | None = request.app.state.admin_token
    challenge = {"WWW-Authenticate": 'Bearer realm="hub-admin"'}
    if expected is None:
        raise ProblemError(
            UNAUTHORIZED, "the admin API is disabled: set HUB_ADMIN_TOKEN", headers=challenge
        )
    if credentials is None:
        raise ProblemError(
            UNAUTHORIZED,
            "send the admin token as 'Authorization: Bearer <token>'",
            headers=challenge,
        )
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise ProblemError(
            UNAUTHORIZED,
            "the admin token is wrong",
            headers={
                **challenge,
                "WWW-Authenticate": 'Bearer realm="hub-admin", error="invalid_token"',
            },
        )


# (tenant, learner id) -> the learner's portfolio read model (XP, completed tasks), or None.
ProgressOf = Callable[[str, str], Any]

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ReadinessDep = Annotated[Readiness, Depends(get_readiness)]
AdminDep = Annotated[None, Depends(require_admin)]
