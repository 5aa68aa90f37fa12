"""What the family routes share: the read side they consult, the clock, sessions, the run of a
command in its event context."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, ParamSpec, Protocol, TypeVar

from eventsourcing.persistence import IntegrityError
from fastapi import Cookie, Depends, Request
from starlette.concurrency import run_in_threadpool

from hub.bootstrap import Runtime
from hub.domain.base import EventContext, event_context
from hub.domain.observers import ObserverError
from hub.family.errors import FamilyError
from hub.family.problems import ROLE_NOT_ALLOWED, problem_for
from hub.http.admin_context import admin_context
from hub.http.middleware import bind_tenant
from hub.http.problems import CONCURRENT_CHANGE, SESSION_REQUIRED, ProblemError
from hub.spark.ingress import now_s, spark_ingress
from hub.spark.sessions import COOKIE_NAME, Session, SessionInvalidError

P = ParamSpec("P")
T = TypeVar("T")
READ_WAIT_S = 5.0


class FamilyReads(Protocol):
    """The family read model, as the routes need it (`projections.family.FamilyReader`)."""

    def observer_view(self, tenant: str, observer_id: str) -> Any:
        """The observer's linked students (`projections.family.ObserverView`), or None."""

    def parent_view(self, tenant: str, parent_id: str, now: datetime) -> Any:
        """The parent's linked students (`projections.family.ParentView`), or None."""

    def access(self, tenant: str, viewer_id: str, viewer_role: str, learner_id: str) -> Any:
        """What the viewer may do with the learner's pages (`projections.family.Access`)."""

    def completed_task(self, tenant: str, learner_id: str, task_id: str) -> bool:
        """Whether the task is among the student's completed work."""

    def wait_for(self, positions: Mapping[str, int], timeout: float) -> None:
        """Return once the read model has applied these positions (`TimeoutError` if not)."""

    def close(self) -> None:
        """Release the database connections."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class FamilyApi:
    """The family routes' parts, built once per HTTP app (`app.state.family`)."""

    runtime: Runtime
    reads: FamilyReads
    clock: Callable[[], datetime] = field(default=utc_now)


def family_api(request: Request) -> FamilyApi:
    api: FamilyApi = request.app.state.family
    return api


def current_session(
    request: Request, session_cookie: Annotated[str | None, Cookie(alias=COOKIE_NAME)] = None
) -> Session:
    try:
        session = spark_ingress(request).signer.read(session_cookie, now=now_s())
    except SessionInvalidError as error:
        raise ProblemError(SESSION_REQUIRED, str(error)) from error
    bind_tenant(request, session.tenant)
    return session


def optional_session(
    request: Request, session_cookie: Annotated[str | None, Cookie(alias=COOKIE_NAME)] = None
) -> Session | None:
    """The signed-in person, if any (an expired or forged cookie counts as none)."""
    try:
        return spark_ingress(request).signer.read(session_cookie, now=now_s())
    except SessionInvalidError:
        return None


FamilyDep = Annotated[FamilyApi, Depends(family_api)]
MaybeSessionDep = Annotated[Session | None, Depends(optional_session)]
SessionDep = Annotated[Session, Depends(current_session)]


def require_role(session: Session, *roles: str) -> None:
    if not any(session.holds(role) for role in roles):
        wanted = " or ".join(roles)
        msg = f"signed in as {session.role}: only a {wanted} can do this"
        raise ProblemError(ROLE_NOT_ALLOWED, msg)


async def run_command(
    request: Request,
    command: Callable[P, T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Run a family command off the loop, its events carrying this request's context; its
    refusals become problems (the observer's side's; see `as_student`)."""
    return await _run(request, False, _session(request), command, *args, **kwargs)


async def run_admin_command(
    request: Request, command: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """`run_command` for an admin route (its events say the admin token verified it)."""
    return await _run(request, False, admin_context(request), command, *args, **kwargs)


async def run_student_command(
    request: Request, command: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """`run_command` for a command on the signed-in student's own circle."""
    return await _run(request, True, _session(request), command, *args, **kwargs)


def _session(request: Request) -> EventContext:
    return EventContext(
        correlation_id=request.state.correlation_id,
        causation_id=request.state.request_id,
        source="hub",
        verified_by="session",
    )


async def _run(
    request: Request,
    as_student: bool,
    context: EventContext,
    command: Callable[..., T],
    *args: Any,
    **kwargs: Any,
) -> T:

    def run() -> T:
        with event_context(context):
            return command(*args, **kwargs)

    try:
        return await run_in_threadpool(run)
    except (ObserverError, FamilyError) as error:
        raise problem_for(error, as_student=as_student) from error
    except IntegrityError as error:
        msg = "changed at the same moment by another request: try again"
        raise ProblemError(CONCURRENT_CHANGE, msg) from error
