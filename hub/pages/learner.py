"""`/dashboard`: the signed-in learner's page (quests, XP per pillar, completed tasks, badges,
their showcase's settings, comments from observers).

Who the learner is and what they are enrolled in come from the `hub` app's log itself,
so the page shows a learner who just signed in at once (read your own writes). Their
learning progress (XP, completed tasks) comes from the portfolio read model, badge
progress and comments from theirs, through the readers the composition root gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from hub.bootstrap import Runtime
from hub.caliper.activity import DASHBOARD
from hub.domain.base import tenant_of
from hub.domain.learners import Learner
from hub.domain.quests import Quest
from hub.domain.showcases import VISIBILITIES
from hub.family import commands as family_commands
from hub.family.api import family_api
from hub.family.circle_json import circle_json
from hub.http.deps import RuntimeDep
from hub.http.problems import SESSION_REQUIRED, problem_responses
from hub.pages.commands import ShowcaseState, showcase_of
from hub.pages.hand_in import ACCEPT, LIMITS, OpenTask, open_tasks
from hub.pages.readers import PageReaders, page_readers
from hub.pages.views import record_after
from hub.pages.web import PageError, SessionCookie, page, required_session
from hub.spark.sessions import STUDENT, Session

router = APIRouter(tags=["pages"])
SAVED = {  # ?saved=... after a form: what the notice says
    "showcase": "Your portfolio settings are saved.",
    "observer-removed": "The observer was removed: their access has ended.",
    "invitation-cancelled": "The invitation was cancelled.",
    "handed-in": "Your work is handed in: it shows in your portfolio in a moment.",
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
    showcase: ShowcaseState | None = None
    visibilities: tuple[str, ...] = VISIBILITIES
    badges: Sequence[Any] | None = None
    comments: Sequence[Any] = field(default_factory=tuple)
    circle: dict[str, Any] | None = None  # a student's invitations and observers
    hand_in: Sequence[OpenTask] = ()  # native tasks still to hand in, each with its form


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
    runtime: Runtime,
    session: Session,
    readers: PageReaders | None = None,
    now: datetime | None = None,
) -> DashboardView | None:
    """What the page shows for `session`, or None if its learner is not (or no longer) known."""
    readers = readers or PageReaders()
    if tenant_of(session.learner_id) != session.tenant:
        return None
    try:
        learner: Learner = runtime.hub.repository.get(session.learner_id)
    except AggregateNotFoundError:
        return None
    tenant = session.tenant
    progress = None if readers.portfolio is None else readers.portfolio(tenant, learner.id)
    xp, tasks = _progress(progress)
    badges = None if readers.badge_progress is None else readers.badge_progress(tenant, learner.id)
    comments = () if readers.comments_on is None else readers.comments_on(tenant, learner.id)
    return DashboardView(
        tenant=tenant,
        learner_id=learner.id,
        name=learner.display_name or "Spark learner",
        email=learner.email,
        role=learner.role,
        quests=[_quest_line(runtime, quest) for quest in learner.quests],
        xp=xp,
        total_xp=sum(points for _, points in xp),
        tasks=tasks,
        showcase=showcase_of(runtime.hub, tenant, learner.id),
        badges=badges,
        comments=comments,
        circle=_circle(runtime, session, now) if session.holds(STUDENT) else None,
        hand_in=open_tasks(runtime, learner, {task.id for task in tasks}),
    )


def _circle(runtime: Runtime, session: Session, now: datetime | None) -> dict[str, Any]:
    """The student's invitations and observers, from the log (read your own writes)."""
    found = family_commands.circle(runtime.hub, session.tenant, session.person_id)
    return circle_json(found, now or datetime.now(UTC))


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    responses=problem_responses(401, 503),
    summary="The signed-in learner's dashboard",
)
async def show_dashboard(
    request: Request, runtime: RuntimeDep, cookie: SessionCookie = None
) -> HTMLResponse:
    session = required_session(request, cookie)
    now = family_api(request).clock()
    view = await run_in_threadpool(dashboard_view, runtime, session, page_readers(request), now)
    if view is None:
        raise PageError(SESSION_REQUIRED, "this session's learner is not known: sign in again")
    response = await page(
        "dashboard.html",
        view=view,
        session=session,
        saved=SAVED.get(request.query_params.get("saved", "")),
        accept=ACCEPT,
        limits=LIMITS,
    )
    # Caliper: a view of the dashboard, of one course when `?quest=` names one of theirs.
    quest = request.query_params.get("quest", "")
    shown = quest if quest in {line.id for line in view.quests} else ""
    record_after(response, request, session, DASHBOARD, quest_id=shown, title="Dashboard")
    return response
