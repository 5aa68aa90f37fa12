"""Evidence from the dashboard: a form per open task of the learner's native quests (text
and files, multipart), posted to `POST /dashboard/tasks/{task_id}/complete`, which runs the
API's own completion (`hub.quests.routes.hand_in`: the same checks, blobs and
`Submission.Received`). A refused upload shows its form again with what went wrong; a task
that is not the learner's is an error page. The completed task then shows in the
portfolio, as a Spark submission's does.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from hub.bootstrap import Runtime
from hub.domain.learners import Learner
from hub.domain.quests import Quest, Task
from hub.http.deps import RuntimeDep
from hub.http.problems import ProblemError, problem_responses
from hub.pages.web import (
    PageError,
    SessionCookie,
    check_same_origin,
    page,
    required_session,
    see_other,
)
from hub.quests import commands, uploads
from hub.quests.errors import QuestError
from hub.quests.routes import hand_in
from infra import sniff

router = APIRouter(tags=["pages"])
# Refusals of the upload itself: the form is shown again; any other refusal is a page.
SHOWN_ON_THE_FORM = {"evidence-too-large", "evidence-type-refused", "evidence-empty"}
ACCEPT = ",".join(sniff.known_types())
LIMITS = (
    f"Up to {uploads.MAX_FILES} files of {uploads.MAX_FILE_BYTES // (1024 * 1024)} MB each: "
    "images, PDF and office documents."
)


@dataclass(frozen=True)
class OpenTask:
    """A task of a native quest the learner is enrolled in and has not completed."""

    id: str
    title: str
    description: str
    quest_title: str
    pillar: str
    xp: int
    required: bool


def _open_task(task: Task, quest_title: str) -> OpenTask:
    details = task.details
    return OpenTask(
        id=task.id,
        title=task.title,
        description=str(details.get("description", "")),
        quest_title=quest_title,
        pillar=str(details.get("pillar", "")),
        xp=int(details.get("xp", 0)),
        required=bool(details.get("required", True)),
    )


def _tasks_of(runtime: Runtime, quest: Quest) -> list[Task]:
    listed = [t for name in commands.TASK_LISTS for t in quest.details.get(name, [])]
    found = []
    for task in listed:
        try:
            found.append(commands.task_of(runtime.hub, quest.tenant, task))
        except QuestError:
            continue  # a listed task not (yet) recorded is left out
    return sorted(found, key=lambda t: (t.details.get("order", 0), t.title))


def open_tasks(runtime: Runtime, learner: Learner, completed: set[str]) -> list[OpenTask]:
    """The learner's native tasks still to hand in, quest by quest, in order."""
    found = []
    for quest_id in learner.quests:
        try:
            quest: Quest = runtime.hub.repository.get(quest_id)
        except AggregateNotFoundError:
            continue
        if quest.source != commands.SOURCE:
            continue
        title = str(quest.details.get("title", ""))
        found += [_open_task(t, title) for t in _tasks_of(runtime, quest) if t.id not in completed]
    return found


@router.post(
    "/dashboard/tasks/{task_id}/complete",
    responses=problem_responses(401, 403, 404, 413, 415, 422),
    summary="The dashboard's hand-in form: the task completed, or the form again",
)
async def hand_in_form(
    request: Request,
    runtime: RuntimeDep,
    task_id: str = Path(min_length=1, max_length=200),
    cookie: SessionCookie = None,
) -> Response:
    session = required_session(request, cookie)
    check_same_origin(request)
    try:
        await hand_in(request, session.tenant, session.learner_id, task_id)
    except ProblemError as error:
        if error.kind.slug not in SHOWN_ON_THE_FORM:
            raise PageError(error.kind, error.detail) from error
        task = await run_in_threadpool(commands.task_of, runtime.hub, session.tenant, task_id)
        return await page(
            "hand_in.html",
            status_code=error.kind.status,
            task=_open_task(task, ""),
            error=error,
            session=session,
            accept=ACCEPT,
            limits=LIMITS,
        )
    return see_other("/dashboard?saved=handed-in#hand-in-title")
