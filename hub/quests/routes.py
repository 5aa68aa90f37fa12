"""Native quests over HTTP: the admin makes quests and tasks; the signed-in learner enrols
and completes a task with evidence (`POST /api/v1/me/tasks/{task_id}/complete`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hub.accounts.admin import known_tenant
from hub.accounts.problems import run_command as run_accounts_command
from hub.bootstrap import Runtime
from hub.domain.rules import Pillar
from hub.family.api import SessionDep
from hub.http.admin import Slug
from hub.http.deps import AdminDep
from hub.http.middleware import bind_tenant
from hub.http.problems import ProblemError, ProblemType, problem_responses
from hub.quests import commands, uploads
from hub.quests import errors as e
from hub.spark.ingress import spark_ingress

QUEST_NOT_FOUND = ProblemType("quest-not-found", "No such quest", 404)
TASK_NOT_FOUND = ProblemType("task-not-found", "No such task", 404)
NOT_A_LEARNER = ProblemType("not-a-learner", "Only learners do this", 403)
NOT_ENROLLED = ProblemType("task-not-yours", "The task is not yours", 403)
EVIDENCE_TOO_LARGE = ProblemType("evidence-too-large", "The upload is too large", 413)
EVIDENCE_TYPE = ProblemType("evidence-type-refused", "A file's type is not accepted", 415)
EVIDENCE_EMPTY = ProblemType("evidence-empty", "Nothing was handed in", 422)
_PROBLEMS: dict[type[Exception], ProblemType] = {
    e.QuestNotFoundError: QUEST_NOT_FOUND,
    e.TaskNotFoundError: TASK_NOT_FOUND,
    e.NotALearnerError: NOT_A_LEARNER,
    e.NotEnrolledError: NOT_ENROLLED,
    e.EvidenceTooLargeError: EVIDENCE_TOO_LARGE,
    e.EvidenceTypeError: EVIDENCE_TYPE,
    e.EvidenceEmptyError: EVIDENCE_EMPTY,
}
TAG = {"name": "quests", "description": "The hub's own quests, enrolment and evidence."}
router = APIRouter(tags=["quests"], responses=problem_responses(401, 403, 404, 422, 503))
Key = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", examples=["garden-project"])]
# `<tenant>.<Type>.<id>`: anything else is a 422, not a read the event store refuses (500).
AggregateId = Annotated[
    str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,39}\.[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,64}$")
]


def problem_for(error: e.QuestError) -> ProblemError:
    for kind_of_error, kind in _PROBLEMS.items():
        if isinstance(error, kind_of_error):
            return ProblemError(kind, str(error))
    raise error  # pragma: no cover - every QuestError has its problem


async def run_command(
    request: Request, verified_by: str, command: Any, *args: Any, **kw: Any
) -> Any:
    try:
        return await run_accounts_command(request, verified_by, command, *args, **kw)
    except e.QuestError as error:
        raise problem_for(error) from error


class QuestDetails(BaseModel):
    tenant: Slug
    key: Key
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=5000)] = ""
    pillar: Pillar
    order: int = 0


class TaskDetails(BaseModel):
    key: Key
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=5000)] = ""
    pillar: Pillar
    xp: Annotated[int, Field(ge=0, le=5000)]
    required: bool = True
    order: int = 0


class Saved(BaseModel):
    id: str
    position: int | None


class Completed(BaseModel):
    submission_id: str
    task_id: str
    quest_id: str
    position: int
    files: list[dict[str, Any]]


def install_quests(app: FastAPI, runtime: Runtime) -> None:
    app.openapi_tags = [*(app.openapi_tags or []), TAG]
    app.include_router(router)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.post("/api/v1/admin/quests", response_model=Saved, summary="Create or update a quest")
async def save_quest(body: QuestDetails, request: Request, _: AdminDep) -> Saved:
    await known_tenant(request, body.tenant)
    hub = _runtime(request).hub
    details = body.model_dump(mode="json", exclude={"tenant", "key"})
    saved = await run_command(
        request, "admin-token", commands.save_quest, hub, body.tenant, body.key, details
    )
    return Saved(id=saved.aggregate_id, position=saved.position)


@router.post(
    "/api/v1/admin/quests/{quest_id}/tasks",
    response_model=Saved,
    summary="Create or update a task of a native quest",
)
async def save_task(
    quest_id: AggregateId, body: TaskDetails, request: Request, _: AdminDep
) -> Saved:
    tenant = quest_id.split(".", 1)[0]
    bind_tenant(request, tenant)
    details = body.model_dump(mode="json", exclude={"key"})
    saved = await run_command(
        request,
        "admin-token",
        commands.save_task,
        _runtime(request).hub,
        tenant,
        quest_id,
        body.key,
        details,
    )
    return Saved(id=saved.aggregate_id, position=saved.position)


@router.get("/api/v1/admin/quests/{quest_id}", summary="A quest and its tasks, in order")
async def read_quest(quest_id: AggregateId, request: Request, _: AdminDep) -> dict[str, Any]:
    tenant = quest_id.split(".", 1)[0]
    hub = _runtime(request).hub

    def read() -> dict[str, Any]:
        quest = commands.quest_of(hub, tenant, quest_id)
        listed = [t for name in commands.TASK_LISTS for t in quest.details.get(name, [])]
        tasks = [commands.task_of(hub, tenant, t) for t in listed]
        shown = [{"id": t.id, **t.details} for t in tasks]
        shown.sort(key=lambda t: (t.get("order", 0), t["title"]))
        return {"id": quest.id, "source": quest.source, **quest.details, "tasks": shown}

    try:
        return await run_in_threadpool(read)
    except e.QuestError as error:
        raise problem_for(error) from error


@router.put(
    "/api/v1/me/quests/{quest_id}/enrolment",
    response_model=Saved,
    summary="Enrol me in a quest",
)
async def enrol(quest_id: AggregateId, request: Request, session: SessionDep) -> Saved:
    saved = await run_command(
        request,
        "session",
        commands.enrol,
        _runtime(request).hub,
        session.tenant,
        session.learner_id,
        quest_id,
    )
    return Saved(id=saved.aggregate_id, position=saved.position)


@router.post(
    "/api/v1/me/tasks/{task_id}/complete",
    status_code=201,
    response_model=Completed,
    responses=problem_responses(413, 415),
    summary="Complete a task with evidence (multipart: text, files)",
)
async def complete_task(task_id: AggregateId, request: Request, session: SessionDep) -> Completed:
    return await hand_in(request, session.tenant, session.learner_id, task_id)


async def hand_in(request: Request, tenant: str, learner: str, task_id: str) -> Completed:
    """Complete `learner`'s task with the request's multipart evidence (the API's and the
    dashboard's form's logic); refusals as problems, nothing kept before all checks pass."""
    hub = _runtime(request).hub
    # Whose task it is, first: a refused upload is not even read.
    await run_command(
        request, "session", commands.check_can_complete, hub, tenant, learner, task_id
    )
    try:
        upload = await uploads.read_upload(request)
    except e.QuestError as error:
        raise problem_for(error) from error
    blobs = spark_ingress(request).blobs
    files = await run_in_threadpool(uploads.keep, blobs, upload) if upload.files else []
    done = await run_command(
        request,
        "session",
        commands.complete_task,
        hub,
        tenant,
        learner,
        task_id,
        text=upload.text,
        files=files,
        now=datetime.now(UTC),
    )
    return Completed(
        submission_id=done.submission_id,
        task_id=done.task_id,
        quest_id=done.quest_id,
        position=done.position,
        files=files,
    )
