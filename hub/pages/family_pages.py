"""The family's pages: the parent dashboard, the observer dashboard (with its comment form),
and the invitation page where an observer accepts (which signs them in).

They read the family read model through `PageReaders` and run the family's commands and
routes (`hub.family`), so a page and the JSON API refuse the same things the same way.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from eventsourcing.application import AggregateNotFoundError
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from hub.application import Hub
from hub.domain.base import tenant_of
from hub.domain.observers import ObserverCircle, ObserverError, circle_of_code
from hub.family import commands
from hub.family import routes as family_routes
from hub.family.api import family_api
from hub.family.problems import (
    COMMENT_TOO_LONG,
    INVITATION_NOT_FOUND,
    ROLE_NOT_ALLOWED,
    problem_for,
)
from hub.http.deps import RuntimeDep
from hub.http.problems import ProblemError, problem_responses
from hub.pages.readers import page_readers
from hub.pages.web import (
    PageError,
    SessionCookie,
    form_fields,
    optional_session,
    page,
    required_session,
    see_other,
)
from hub.spark.sessions import OBSERVER, Session

router = APIRouter(tags=["pages"])
PARENT_ROLES = frozenset({"parent", "guardian"})
T = TypeVar("T")


@dataclass(frozen=True)
class InvitationShown:
    student_name: str
    name: str
    relationship: str
    expires_at: str
    can_view_evidence: bool
    can_comment: bool


def as_page(problem: ProblemError) -> PageError:
    return PageError(problem.kind, problem.detail, headers=problem.headers)


async def paged(call: Awaitable[T]) -> T:
    """`await call`, its problem answered as a page."""
    try:
        return await call
    except PageError:
        raise
    except ProblemError as problem:
        raise as_page(problem) from problem


def require_role(session: Session, roles: frozenset[str], page_name: str) -> None:
    if not any(session.holds(role) for role in roles):
        msg = f"signed in as {session.role}: the {page_name} is for {' or '.join(sorted(roles))}s"
        raise PageError(ROLE_NOT_ALLOWED, msg)


# -- parents and observers -----------------------------------------------------------------


@router.get("/parent", response_class=HTMLResponse, responses=problem_responses(401, 403))
async def parent_dashboard(request: Request, cookie: SessionCookie = None) -> HTMLResponse:
    """A parent's linked students: active quests, recent work, due dates, learning rhythm."""
    session = required_session(request, cookie)
    require_role(session, PARENT_ROLES, "parent dashboard")
    reader = page_readers(request).parent_view
    view = (
        None
        if reader is None
        else await run_in_threadpool(reader, session.tenant, session.person_id)
    )
    return await page("parent.html", view=view, session=session)


@router.get("/observer", response_class=HTMLResponse, responses=problem_responses(401, 403))
async def observer_dashboard(request: Request, cookie: SessionCookie = None) -> HTMLResponse:
    """An observer's linked students and their recent work, with a comment form where allowed."""
    session = required_session(request, cookie)
    require_role(session, frozenset({OBSERVER}), "observer dashboard")
    reader = page_readers(request).observer_view
    view = (
        None
        if reader is None
        else await run_in_threadpool(reader, session.tenant, session.person_id)
    )
    return await page(
        "observer.html", view=view, session=session, commented=request.query_params.get("commented")
    )


@router.post(
    "/observer/students/{student_id}/comments",
    status_code=303,
    responses=problem_responses(401, 403, 404, 422),
    summary="The observer dashboard's comment form",
)
async def comment_form(
    student_id: str, request: Request, cookie: SessionCookie = None
) -> RedirectResponse:
    session = required_session(request, cookie)
    fields = await form_fields(request)
    try:
        body = family_routes.CommentRequest(
            task_id=fields.get("task_id", ""), text=fields.get("text", "")
        )
    except ValidationError as error:
        raise PageError(COMMENT_TOO_LONG, "a comment is at most 2,000 characters") from error
    await paged(family_routes.comment(student_id, body, request, session, family_api(request)))
    return see_other("/observer?commented=1")


# -- invitations ---------------------------------------------------------------------------


def pending_invitation(hub: Hub, code: str, now: datetime) -> InvitationShown:
    """What an invitation code opens, if it is still pending (else its precise error)."""
    found_id = circle_of_code(code)
    try:
        found: ObserverCircle = hub.repository.get(found_id)
    except AggregateNotFoundError:  # no invitations at all: the code's is not found
        found = ObserverCircle(tenant=tenant_of(found_id), student_id="")
    invitation_id = found.invitation_for(code)
    found.check_pending(invitation_id, now)
    invited: dict[str, Any] = found.invitations[invitation_id]
    student = commands.person(hub, found.tenant, found.student_id)
    student_name = getattr(student, "display_name", "") or getattr(student, "name", "")
    return InvitationShown(
        student_name=student_name or "A student",
        name=str(invited["name"]),
        relationship=str(invited["relationship"]),
        expires_at=str(invited["expires_at"]),
        can_view_evidence=bool(invited["can_view_evidence"]),
        can_comment=bool(invited["can_comment"]),
    )


@router.get(
    family_routes.ACCEPT_PATH,
    response_class=HTMLResponse,
    responses=problem_responses(404, 409, 410),
)
async def invitation_page(code: str, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The invitation an observer received: who invites them, and a form to accept."""
    now = family_api(request).clock()
    try:
        shown = await run_in_threadpool(pending_invitation, runtime.hub, code.strip(), now)
    except ObserverError as error:
        raise as_page(problem_for(error)) from error
    action = f"/observer/accept/{quote(code.strip(), safe='')}"
    return await page("invitation.html", invitation=shown, action=action, session=None)


@router.post(
    family_routes.ACCEPT_PATH,
    status_code=303,
    responses=problem_responses(404, 409, 410, 422),
    summary="The invitation page's form: accept, signed in as the observer",
)
async def accept_form(
    code: str, request: Request, cookie: SessionCookie = None
) -> RedirectResponse:
    """Runs the family's acceptance: a new observer is signed in and sees `/observer`; a
    person already signed in is linked and sees the student's portfolio."""
    fields = await form_fields(request)
    session = optional_session(request, cookie)
    try:
        body = family_routes.Acceptance(code=code.strip(), name=fields.get("name", "")[:200])
    except ValidationError as error:
        raise PageError(INVITATION_NOT_FOUND, "this invitation code is not valid") from error
    answer = await paged(family_routes.accept(body, request, family_api(request), session))
    done = json.loads(bytes(answer.body))
    if done["new_account"] or (session is not None and session.holds(OBSERVER)):
        response = see_other("/observer")
    else:
        response = see_other(f"/learners/{quote(done['student_id'], safe='')}/portfolio")
    signed_in = answer.headers.get("set-cookie")
    if signed_in is not None:  # the family's route signed them in (as an observer too)
        response.headers.append("set-cookie", signed_in)
    return response
