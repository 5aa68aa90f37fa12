"""Admin routes for families: link a parent or guardian to a student, set the learning rhythm.

The roster (OneRoster `agentSourcedIds`) links guardians through the same command,
`hub.family.commands.link_guardian`; these routes are for the links a school makes by hand.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from hub.family import commands
from hub.family.api import run_admin_command
from hub.family.errors import MAX_RHYTHM_DAYS
from hub.http.admin import Slug
from hub.http.deps import AdminDep, RuntimeDep
from hub.http.middleware import bind_tenant
from hub.http.problems import NOT_FOUND, ProblemError, problem_responses

router = APIRouter(
    prefix="/api/v1/admin/family",
    tags=["admin"],
    responses=problem_responses(401, 404, 422, 503),
)
PersonId = Annotated[
    str, Field(min_length=1, max_length=200, description="a hub Learner or Account id")
]


class GuardianLink(BaseModel):
    tenant: Slug
    guardian_id: PersonId
    student_id: PersonId
    relationship: Annotated[str, Field(min_length=1, max_length=100, examples=["mother"])]


class GuardianUnlink(BaseModel):
    tenant: Slug
    guardian_id: PersonId
    student_id: PersonId


class Rhythm(BaseModel):
    tenant: Slug
    days: Annotated[int, Field(description=f"1 to {MAX_RHYTHM_DAYS}")]


class Recorded(BaseModel):
    aggregate_id: str
    changed: bool
    position: int | None


def _known_tenant(request: Request, runtime: Any, tenant: str) -> None:
    bind_tenant(request, tenant)
    if runtime.hub.tenant(tenant) is None:
        raise ProblemError(NOT_FOUND, f"there is no tenant {tenant!r}")


def _answer(done: commands.Recorded) -> Recorded:
    return Recorded(aggregate_id=done.aggregate_id, changed=done.changed, position=done.position)


@router.post("/guardians", response_model=Recorded, summary="Link a parent to a student")
async def link(body: GuardianLink, request: Request, runtime: RuntimeDep, _: AdminDep) -> Recorded:
    _known_tenant(request, runtime, body.tenant)
    done = await run_admin_command(
        request,
        commands.link_guardian,
        runtime.hub,
        body.tenant,
        body.guardian_id,
        body.student_id,
        relationship=body.relationship,
        source="admin",
    )
    return _answer(done)


@router.post("/guardians/unlink", response_model=Recorded, summary="End a parent's link")
async def unlink(
    body: GuardianUnlink, request: Request, runtime: RuntimeDep, _: AdminDep
) -> Recorded:
    _known_tenant(request, runtime, body.tenant)
    done = await run_admin_command(
        request,
        commands.unlink_guardian,
        runtime.hub,
        body.tenant,
        body.guardian_id,
        body.student_id,
        source="admin",
    )
    return _answer(done)


@router.put("/rhythm", response_model=Recorded, summary="Days that keep the rhythm green")
async def rhythm(body: Rhythm, request: Request, runtime: RuntimeDep, _: AdminDep) -> Recorded:
    _known_tenant(request, runtime, body.tenant)
    done = await run_admin_command(
        request, commands.set_rhythm_days, runtime.hub, body.tenant, body.days
    )
    return _answer(done)
