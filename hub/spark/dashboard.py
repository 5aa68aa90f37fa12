"""`/dashboard`: the signed-in learner's page, server-rendered (Jinja2, no script, no CDN).

`dashboard_view` is the seam: it reads the learner from the `hub` app's log (read your
own writes, since it reads the log itself). The portfolio read model may replace it
with a view that waits, bounded, for the session's position.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated

from eventsourcing.application import AggregateNotFoundError
from fastapi import APIRouter, Cookie, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from hub.bootstrap import Runtime
from hub.domain.base import tenant_of
from hub.domain.learners import Learner
from hub.domain.quests import Quest, Task
from hub.http.deps import RuntimeDep
from hub.http.problems import SESSION_REQUIRED, ProblemError, problem_responses
from hub.spark.ingress import now_s, spark_ingress
from hub.spark.sessions import COOKIE_NAME, Session, SessionInvalidError

router = APIRouter(tags=["pages"])
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class QuestLine:
    id: str
    title: str
    synced: bool


@dataclass(frozen=True)
class TaskLine:
    id: str
    title: str
    pillar: str
    xp: int


@dataclass(frozen=True)
class DashboardView:
    tenant: str
    learner_id: str
    name: str
    email: str
    role: str
    quests: list[QuestLine]
    xp: list[tuple[str, int]]
    total_xp: int
    tasks: list[TaskLine]


def _quest_line(runtime: Runtime, quest_id: str) -> QuestLine:
    try:
        quest: Quest = runtime.hub.repository.get(quest_id)
    except AggregateNotFoundError:
        return QuestLine(quest_id, "A Spark course", synced=False)
    return QuestLine(quest_id, str(quest.details.get("title") or quest.external_id), synced=True)


def _task_line(runtime: Runtime, task_id: str, xp: int) -> TaskLine:
    try:
        task: Task = runtime.hub.repository.get(task_id)
    except AggregateNotFoundError:
        return TaskLine(task_id, "A task", "", xp)
    return TaskLine(
        task_id, task.title or task.external_id, str(task.details.get("pillar", "")), xp
    )


def dashboard_view(runtime: Runtime, session: Session) -> DashboardView | None:
    """What the page shows for `session`, or None if its learner is not (or no longer) known."""
    if tenant_of(session.learner_id) != session.tenant:
        return None
    try:
        learner: Learner = runtime.hub.repository.get(session.learner_id)
    except AggregateNotFoundError:
        return None
    xp = sorted(learner.xp.items())
    return DashboardView(
        tenant=session.tenant,
        learner_id=learner.id,
        name=learner.display_name or "Spark learner",
        email=learner.email,
        role=learner.role,
        quests=[_quest_line(runtime, quest) for quest in learner.quests],
        xp=xp,
        total_xp=sum(points for _, points in xp),
        tasks=[
            _task_line(runtime, task_id, int(done.get("xp", 0)))
            for task_id, done in learner.completed_tasks.items()
        ],
    )


@cache
def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True),
        auto_reload=False,
    )


def render_dashboard(view: DashboardView) -> str:
    return _templates().get_template("dashboard.html").render(view=view)


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    responses=problem_responses(401, 503),
    summary="The signed-in learner's dashboard",
)
async def show_dashboard(
    request: Request,
    runtime: RuntimeDep,
    session_cookie: Annotated[str | None, Cookie(alias=COOKIE_NAME)] = None,
) -> HTMLResponse:
    try:
        session = spark_ingress(request).signer.read(session_cookie, now=now_s())
    except SessionInvalidError as error:
        raise ProblemError(SESSION_REQUIRED, str(error)) from error
    view = await run_in_threadpool(dashboard_view, runtime, session)
    if view is None:
        raise ProblemError(SESSION_REQUIRED, "this session's learner is not known: sign in again")
    html = await run_in_threadpool(render_dashboard, view)
    return HTMLResponse(html, headers=_HEADERS)
