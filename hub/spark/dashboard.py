"""`/dashboard`: the signed-in learner's page, server-rendered (Jinja2, no script, no CDN).

Who the learner is and what they are enrolled in come from the `hub` app's log itself,
so the page shows a learner who just signed in at once (read your own writes). Their
learning progress (XP, completed tasks) is recorded by the `progress` connector and
read from the portfolio read model, through `learning_progress(tenant, learner_id)`
which the composition root gives the app (`hub` does not import `projections`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from eventsourcing.application import AggregateNotFoundError
from fastapi import APIRouter, Cookie, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from hub.bootstrap import Runtime
from hub.domain.base import tenant_of
from hub.domain.learners import Learner
from hub.domain.quests import Quest
from hub.http.deps import ProgressOf, RuntimeDep
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


def _progress(progress: Any) -> tuple[list[tuple[str, int]], list[TaskLine]]:
    """XP per pillar and completed tasks from a portfolio (duck-typed: `xp_by_pillar`,
    `quests[].tasks[]` with `task_id`, `title`, `pillar`, `xp`)."""
    if progress is None:
        return [], []
    xp = sorted((str(k), int(v)) for k, v in progress.xp_by_pillar.items())
    tasks = [
        TaskLine(task.task_id, task.title, task.pillar, int(task.xp))
        for quest in progress.quests
        for task in quest.tasks
    ]
    return xp, tasks


def dashboard_view(
    runtime: Runtime, session: Session, learning_progress: ProgressOf | None = None
) -> DashboardView | None:
    """What the page shows for `session`, or None if its learner is not (or no longer) known."""
    if tenant_of(session.learner_id) != session.tenant:
        return None
    try:
        learner: Learner = runtime.hub.repository.get(session.learner_id)
    except AggregateNotFoundError:
        return None
    progress = (
        None if learning_progress is None else learning_progress(session.tenant, session.learner_id)
    )
    xp, tasks = _progress(progress)
    return DashboardView(
        tenant=session.tenant,
        learner_id=learner.id,
        name=learner.display_name or "Spark learner",
        email=learner.email,
        role=learner.role,
        quests=[_quest_line(runtime, quest) for quest in learner.quests],
        xp=xp,
        total_xp=sum(points for _, points in xp),
        tasks=tasks,
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
    view = await run_in_threadpool(
        dashboard_view, runtime, session, request.app.state.learning_progress
    )
    if view is None:
        raise ProblemError(SESSION_REQUIRED, "this session's learner is not known: sign in again")
    html = await run_in_threadpool(render_dashboard, view)
    return HTMLResponse(html, headers=_HEADERS)
