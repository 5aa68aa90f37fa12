"""The accounts' problem types, and which refusal answers with which."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from eventsourcing.persistence import IntegrityError
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from hub.accounts import errors as e
from hub.domain import accounts as a
from hub.domain.base import EventContext, event_context
from hub.http.admin_context import admin_context
from hub.http.problems import CONCURRENT_CHANGE, ProblemError, ProblemType

T = TypeVar("T")

SIGN_IN_FAILED = ProblemType("sign-in-failed", "The email address or the password is wrong", 401)
SIGN_IN_LIMITED = ProblemType("sign-in-limited", "Too many sign-in attempts", 429)
LINK_NOT_FOUND = ProblemType("link-not-found", "No such link", 404)
LINK_EXPIRED = ProblemType("link-expired", "The link has expired", 410)
LINK_USED = ProblemType("link-used", "The link was already used", 409)
PASSWORD_POLICY = ProblemType("password-policy", "The password is not acceptable", 422)
CURRENT_PASSWORD = ProblemType("current-password-wrong", "The current password is needed", 403)
ROLE_NOT_OPENED = ProblemType("account-role-not-allowed", "No accounts of that role", 422)
ROLE_NOT_ALLOWED = ProblemType("role-not-allowed", "Your role cannot do this", 403)

_PROBLEMS: dict[type[Exception], ProblemType] = {
    e.SignInFailedError: SIGN_IN_FAILED,
    e.RoleNotAllowedError: ROLE_NOT_OPENED,
    a.LinkNotFoundError: LINK_NOT_FOUND,
    a.LinkExpiredError: LINK_EXPIRED,
    a.LinkUsedError: LINK_USED,
    a.PasswordPolicyError: PASSWORD_POLICY,
    a.CurrentPasswordError: CURRENT_PASSWORD,
}


def problem_for(error: Exception) -> ProblemError:
    if isinstance(error, e.SignInLimitedError):
        headers = {"Retry-After": str(error.retry_after_s)}
        return ProblemError(SIGN_IN_LIMITED, str(error), headers=headers)
    for kind_of_error, kind in _PROBLEMS.items():
        if isinstance(error, kind_of_error):
            return ProblemError(kind, str(error))
    raise error


async def run_command(
    request: Request, verified_by: str, command: Callable[..., T], *args: Any, **kwargs: Any
) -> T:
    """Run a command off the loop in this request's event context; refusals as problems."""
    context = (
        admin_context(request)  # an admin route's action: found by auditors as `http:admin`
        if verified_by == "admin-token"
        else EventContext(
            correlation_id=request.state.correlation_id,
            causation_id=request.state.request_id,
            source="hub",
            verified_by=verified_by,
        )
    )

    def run() -> T:
        with event_context(context):
            return command(*args, **kwargs)

    try:
        return await run_in_threadpool(run)
    except (e.AccountsError, a.CredentialsError) as error:
        raise problem_for(error) from error
    except IntegrityError as error:
        msg = "changed at the same moment by another request: try again"
        raise ProblemError(CONCURRENT_CHANGE, msg) from error
