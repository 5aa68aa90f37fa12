"""The family JSON API for the signed-in student and observer (`/api/v1/me/...`, cookie
session), and the acceptance of an invitation, which signs the observer in.

Decisions are taken on the student's `ObserverCircle` in the log (read your own writes);
the family read model is consulted for what only it knows: an observer's students, and
whether a task is the student's completed work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import asdict
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from hub.accounts.invitations import email_invitation
from hub.bootstrap import Runtime
from hub.domain.base import tenant_of
from hub.family import commands
from hub.family.api import (
    READ_WAIT_S,
    FamilyApi,
    FamilyDep,
    FamilyReads,
    MaybeSessionDep,
    SessionDep,
    require_role,
    run_command,
    run_student_command,
)
from hub.family.circle_json import circle_json, comments_json
from hub.family.problems import OTHER_TENANT, WORK_NOT_FOUND, access_problem
from hub.http.problems import NOT_FOUND, ProblemError, problem_responses
from hub.spark.ingress import now_s, spark_ingress
from hub.spark.sessions import Session, set_session_cookie

router = APIRouter(prefix="/api/v1", tags=["family"], responses=problem_responses(401, 403, 503))
TAG = {"name": "family", "description": "Observers and comments, for the signed-in student."}
STUDENT, OBSERVER, PARENTS = "student", "observer", ("parent", "guardian")
T = TypeVar("T")
ACCEPT_PATH = "/observer/accept/{code}"  # the seed's page, where the code is accepted
# The address is where the student sends the code; the seed asks no more of it than this.
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"
    ),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Relationship = Annotated[str, Field(min_length=1, max_length=100, examples=["grandparent"])]


class InvitationRequest(BaseModel):
    email: Email
    name: Name
    relationship: Relationship
    can_view_evidence: bool = True
    can_comment: bool = True


class InvitationSent(BaseModel):
    invitation_id: str
    code: str = Field(description="shown once: send it to the observer")
    accept_path: str
    expires_at: str
    position: int


class Acceptance(BaseModel):
    code: Annotated[str, Field(min_length=1, max_length=200)]
    name: Annotated[str, Field(max_length=200)] = ""


class Accepted(BaseModel):
    tenant: str
    observer_id: str
    student_id: str
    new_account: bool
    position: int


class Permissions(BaseModel):
    can_view_evidence: bool
    can_comment: bool


class CommentRequest(BaseModel):
    task_id: Annotated[str, Field(min_length=1, max_length=200)]
    # Checked by the domain (trimmed, not empty, at most 2,000), so each refusal has its type.
    text: Annotated[str, Field(max_length=20_000)]


class Changed(BaseModel):
    position: int | None


class CommentLeft(BaseModel):
    comment_id: str
    position: int


def install_family(app: FastAPI, runtime: Runtime, *, reads: FamilyReads | None = None) -> None:
    """Mount the family routes; `reads` defaults to the read model in the runtime's database."""
    found = reads or _default_reads(runtime)
    app.state.family = FamilyApi(runtime, found)
    app.openapi_tags = [*(app.openapi_tags or []), TAG]
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(started: FastAPI) -> AsyncIterator[Any]:
        async with inner(started) as state:
            yield state
        found.close()

    app.router.lifespan_context = lifespan
    app.include_router(router)
    from hub.family.admin import router as admin_router  # noqa: PLC0415

    app.include_router(admin_router)


def _default_reads(runtime: Runtime) -> FamilyReads:
    # The composition: `hub` meets `projections` only here, as `hub.cli` does.
    from infra.sql import make_engine  # noqa: PLC0415
    from projections.family import FamilyReader  # noqa: PLC0415

    return FamilyReader(make_engine(runtime.settings.resolved_database_url))


# -- the student ---------------------------------------------------------------------------


async def _student_change(
    request: Request,
    session: Session,
    api: FamilyApi,
    command: Callable[..., commands.Recorded],
    *args: Any,
    **kwargs: Any,
) -> Changed:
    """Run `command(hub, tenant, student_id, *args, **kwargs)` on the signed-in student's circle."""
    require_role(session, STUDENT)
    done = await run_student_command(
        request, command, api.runtime.hub, session.tenant, session.learner_id, *args, **kwargs
    )
    return Changed(position=done.position)


@router.post(
    "/me/observers/invitations",
    status_code=201,
    response_model=InvitationSent,
    responses=problem_responses(422),
    summary="Invite an observer (the code is shown once)",
)
async def invite(
    body: InvitationRequest, request: Request, session: SessionDep, api: FamilyDep
) -> InvitationSent:
    require_role(session, STUDENT)
    sent = await run_student_command(
        request,
        commands.invite_observer,
        api.runtime.hub,
        session.tenant,
        session.learner_id,
        email=body.email,
        name=body.name,
        relationship=body.relationship,
        can_view_evidence=body.can_view_evidence,
        can_comment=body.can_comment,
        now=api.clock(),
    )
    await email_invitation(request, session.tenant, session.learner_id, body, sent)  # issue 9
    return InvitationSent(
        invitation_id=sent.invitation_id,
        code=sent.code,
        accept_path=ACCEPT_PATH.format(code=sent.code),
        expires_at=sent.expires_at,
        position=sent.position,
    )


@router.get("/me/observers", summary="My invitations and observers")
async def my_observers(request: Request, session: SessionDep, api: FamilyDep) -> dict[str, Any]:
    require_role(session, STUDENT)
    found = await run_student_command(
        request, commands.circle, api.runtime.hub, session.tenant, session.learner_id
    )
    return circle_json(found, api.clock())


@router.delete(
    "/me/observers/invitations/{invitation_id}",
    response_model=Changed,
    responses=problem_responses(404, 409, 410),
    summary="Cancel a pending invitation",
)
async def cancel(
    invitation_id: str, request: Request, session: SessionDep, api: FamilyDep
) -> Changed:
    return await _student_change(
        request, session, api, commands.cancel_invitation, invitation_id, now=api.clock()
    )


@router.delete(
    "/me/observers/{observer_id}",
    response_model=Changed,
    responses=problem_responses(404, 409),
    summary="Remove an observer: their access ends at once",
)
async def remove(
    observer_id: str, request: Request, session: SessionDep, api: FamilyDep
) -> Changed:
    return await _student_change(
        request, session, api, commands.remove_observer, observer_id, now=api.clock()
    )


@router.patch(
    "/me/observers/{observer_id}",
    response_model=Changed,
    responses=problem_responses(404, 409, 422),
    summary="Change what an observer may do",
)
async def permissions(
    observer_id: str, body: Permissions, request: Request, session: SessionDep, api: FamilyDep
) -> Changed:
    return await _student_change(
        request,
        session,
        api,
        commands.change_permissions,
        observer_id,
        can_view_evidence=body.can_view_evidence,
        can_comment=body.can_comment,
    )


@router.get("/me/comments", summary="Observers' comments on my work, newest first")
async def my_comments(request: Request, session: SessionDep, api: FamilyDep) -> dict[str, Any]:
    require_role(session, STUDENT)
    found = await run_student_command(
        request, commands.circle, api.runtime.hub, session.tenant, session.learner_id
    )
    return {"comments": comments_json(found)}


# -- the observer --------------------------------------------------------------------------


@router.post(
    "/observers/invitations/accept",
    response_model=Accepted,
    responses=problem_responses(404, 409, 410, 422),
    summary="Accept an invitation: links (or creates) the observer and signs them in",
)
async def accept(
    body: Acceptance, request: Request, api: FamilyDep, session: MaybeSessionDep
) -> JSONResponse:
    """A new address gets an observer account and is signed in with it; an address that is
    already someone's is linked only when that person is the one signed in (their session
    stays as it is)."""
    done = await run_command(
        request,
        commands.accept_invitation,
        api.runtime.hub,
        body.code.strip(),
        now=api.clock(),
        name=body.name,
        signed_in_as=None if session is None else session.learner_id,
    )
    answer = Accepted(
        tenant=done.tenant,
        observer_id=done.observer_id,
        student_id=done.student_id,
        new_account=done.new_account,
        position=done.position,
    )
    response = JSONResponse(answer.model_dump(), headers={"Cache-Control": "no-store"})
    roles: tuple[str, ...] = ()
    if done.new_account:
        who, role = done.observer_id, OBSERVER
    elif session is not None and not session.holds(OBSERVER):
        # the same person, now an observer too: their session says so (issue 9)
        who, role, roles = session.learner_id, session.role, (*session.roles, OBSERVER)
    else:
        return response
    signer = spark_ingress(request).signer
    cookie, _ = signer.issue(
        tenant=done.tenant,
        learner_id=who,
        role=role,
        roles=roles,
        position=done.position,
        now=now_s(),
    )
    set_session_cookie(response, signer, cookie)
    return response


@router.get("/me/students", summary="The students I observe")
async def my_students(session: SessionDep, api: FamilyDep) -> dict[str, Any]:
    # Whatever the session's role: a parent may observe another student too.
    found = await _read_own_writes(
        api, session, api.reads.observer_view, session.tenant, session.learner_id
    )
    return {"students": [] if found is None else [asdict(s) for s in found.students]}


# -- the parent ----------------------------------------------------------------------------


@router.get("/me/children", summary="My linked students: quests, work, due dates, rhythm")
async def my_children(session: SessionDep, api: FamilyDep) -> dict[str, Any]:
    require_role(session, *PARENTS)
    found = await _read_own_writes(
        api, session, api.reads.parent_view, session.tenant, session.learner_id, api.clock()
    )
    if found is None:
        return {"rhythm_days": None, "students": []}
    return {"rhythm_days": found.rhythm_days, "students": [asdict(s) for s in found.students]}


@router.get(
    "/me/children/{learner_id}",
    responses=problem_responses(404),
    summary="One linked student (403 for any other)",
)
async def my_child(learner_id: str, session: SessionDep, api: FamilyDep) -> dict[str, Any]:
    require_role(session, *PARENTS)
    decided = await run_in_threadpool(
        api.reads.access, session.tenant, session.learner_id, session.role, learner_id
    )
    if not decided.can_view:
        raise access_problem(decided)
    children = await my_children(session, api)
    for child in children["students"]:
        if child["learner_id"] == learner_id:
            return dict(child)
    raise ProblemError(NOT_FOUND, "this student is linked, but not shown yet: try again")


async def _read_own_writes(
    api: FamilyApi, session: Session, reader: Callable[..., T], *args: Any
) -> T:
    """`reader(*args)` once the read model shows what signed this session in (bounded: past
    the bound, what it holds now rather than nothing)."""

    def read() -> T:
        with suppress(TimeoutError):
            api.reads.wait_for({"hub": session.position}, READ_WAIT_S)
        return reader(*args)

    return await run_in_threadpool(read)


@router.post(
    "/me/students/{student_id}/comments",
    status_code=201,
    response_model=CommentLeft,
    responses=problem_responses(404, 422),
    summary="Leave an encouraging comment on a student's completed work",
)
async def comment(
    student_id: str, body: CommentRequest, request: Request, session: SessionDep, api: FamilyDep
) -> CommentLeft:
    # The link decides, whatever the session's role (a parent may observe another student).
    if tenant_of(student_id) != session.tenant:
        raise ProblemError(OTHER_TENANT, "this learner is not in your school's hub")
    hub, tenant, observer = api.runtime.hub, session.tenant, session.learner_id
    # The link and its rights first (a removed observer learns nothing of the work).
    await run_command(request, commands.check_can_comment, hub, tenant, observer, student_id)
    if not await run_in_threadpool(api.reads.completed_task, tenant, student_id, body.task_id):
        msg = "comments are left on completed work: this task is not among the student's"
        raise ProblemError(WORK_NOT_FOUND, msg)
    left = await run_command(
        request,
        commands.leave_comment,
        hub,
        tenant,
        observer,
        student_id,
        task_id=body.task_id,
        text=body.text,
        now=api.clock(),
    )
    return CommentLeft(comment_id=left.comment_id, position=left.position)
