"""The versioned tenant API, `/api/v1/tenants/{tenant}/...`, over the read models and the log.

    GET  learners                              portfolio:read  learners, a page at a time
    GET  learners/{learner_id}/portfolio       portfolio:read  XP per pillar, completed tasks
    GET  learners/{learner_id}/badges          portfolio:read  badge progress
    GET  roster/{users|enrollments}            roster:read     OneRoster 1.2 resources, paged
    POST learners/{learner_id}/tasks/{task_id}/scores  scores:write  grade a task (202)
    GET  events                                events:read     the tenant's events, paged

A client reads its own tenant only (`hub.api.scopes`); the hub admin reads any.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hub.api.scopes import (
    EVENTS_READ,
    PORTFOLIO_READ,
    ROSTER_READ,
    SCORES_WRITE,
    Caller,
    require_scope,
)
from hub.api.scores import RecordedScore, ScoreError, record_score
from hub.domain.base import TENANT_SLUG, EventContext, event_context
from hub.http.middleware import bind_tenant
from hub.http.problems import NOT_FOUND, ProblemError, ProblemType, problem_responses
from hub.pages.readers import page_readers
from hub.replay import ReplayFilter, replay
from hub.roster.rest_routes import load_resources
from infra.nats_client import NatsConnection

router = APIRouter(
    prefix="/api/v1/tenants/{tenant}",
    tags=["tenant api"],
    responses=problem_responses(401, 403, 422, 429, 503),
)
READ_MODEL_MISSING = ProblemType(
    "read-model-unavailable", "This hub does not run the read model asked for", 503
)
TenantPath = Annotated[str, Path(pattern=TENANT_SLUG.pattern, description="The tenant's slug")]
_HUB_ID = r"^[a-z0-9][a-z0-9-]{0,39}\.[A-Za-z]+\.[0-9a-f]{32}$"
LearnerPath = Annotated[str, Path(pattern=_HUB_ID, description="The learner's hub id")]
TaskPath = Annotated[str, Path(pattern=_HUB_ID, description="The task's hub id")]
Limit = Annotated[int, Query(ge=1, le=500, description="At most this many")]
PortfolioCaller = Annotated[Caller, Depends(require_scope(PORTFOLIO_READ))]
RosterCaller = Annotated[Caller, Depends(require_scope(ROSTER_READ))]
EventsCaller = Annotated[Caller, Depends(require_scope(EVENTS_READ))]
ScoresCaller = Annotated[Caller, Depends(require_scope(SCORES_WRITE))]
SCORE_REFUSED = ProblemType("score-refused", "The score cannot be recorded", 422)
# Values under these names are not for a client's eyes, even hashed or sealed.
_SECRET_FIELD = re.compile(r"secret|hash|sealed|password|private|api_key|token", re.IGNORECASE)


class LearnerOut(BaseModel):
    learner_id: str
    name: str
    email: str
    role: str


class LearnerPage(BaseModel):
    learners: list[LearnerOut]
    next_after: str | None = Field(description="pass as `after` for the next page")


class CompletedTaskOut(BaseModel):
    task_id: str
    title: str
    pillar: str
    xp: int
    submitted_at: str
    quest_id: str
    evidence: list[dict[str, Any]]


class PortfolioOut(BaseModel):
    learner_id: str
    name: str | None
    xp_by_pillar: dict[str, int]
    total_xp: int
    completed_tasks: list[CompletedTaskOut]


class BadgeOut(BaseModel):
    badge_id: str
    name: str
    pillar: str
    earned_at: str | None
    remaining: str
    quests_done: int
    quests_needed: int
    xp_done: int
    xp_needed: int


class BadgeList(BaseModel):
    badges: list[BadgeOut]


class RosterPage(BaseModel):
    resources: list[dict[str, Any]]
    total: int
    next_offset: int | None


class EventOut(BaseModel):
    position: int
    recorded_at: str
    aggregate_type: str
    aggregate_id: str
    version: int
    event_type: str
    data: dict[str, Any]


class EventPage(BaseModel):
    events: list[EventOut]
    next_after: int | None = Field(description="pass as `after` for the next page")


class ScoreIn(BaseModel):
    score: float = Field(ge=0, le=1_000_000, description="in the task's own scale")
    comment: str = Field(default="", max_length=10_000)


class ScoreRecorded(BaseModel):
    submission_id: str
    position: int = Field(description="the log position of the score")


def _reader(request: Request, name: str) -> Callable[..., Any]:
    found: Callable[..., Any] | None = getattr(page_readers(request), name, None)
    if found is None:
        raise ProblemError(READ_MODEL_MISSING, f"the {name} read model is not running here")
    return found


@router.get("/learners", summary="The tenant's learners, a page at a time")
async def learners(
    tenant: TenantPath,
    request: Request,
    _: PortfolioCaller,
    after: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 100,
) -> LearnerPage:
    bind_tenant(request, tenant)
    read = _reader(request, "learners")
    found: Sequence[Any] = await run_in_threadpool(read, tenant, after, limit + 1)
    page = [LearnerOut(**vars(learner)) for learner in found[:limit]]
    return LearnerPage(
        learners=page, next_after=page[-1].learner_id if len(found) > limit else None
    )


@router.get(
    "/learners/{learner_id}/portfolio",
    summary="A learner's portfolio: XP per pillar, completed tasks and their evidence",
    responses=problem_responses(404),
)
async def learner_portfolio(
    tenant: TenantPath, learner_id: LearnerPath, request: Request, _: PortfolioCaller
) -> PortfolioOut:
    bind_tenant(request, tenant)
    found = await run_in_threadpool(_reader(request, "portfolio"), tenant, learner_id)
    if found is None:
        raise ProblemError(NOT_FOUND, f"tenant {tenant!r} has no learner {learner_id!r}")
    done = [
        CompletedTaskOut(
            task_id=task.task_id,
            title=task.title,
            pillar=task.pillar,
            xp=task.xp,
            submitted_at=task.submitted_at,
            quest_id=quest.quest_id,
            evidence=list(task.evidence),
        )
        for quest in found.quests
        for task in quest.tasks
    ]
    return PortfolioOut(
        learner_id=learner_id,
        name=found.learner.name if found.learner else None,
        xp_by_pillar=dict(found.xp_by_pillar),
        total_xp=found.total_xp,
        completed_tasks=done,
    )


@router.get("/learners/{learner_id}/badges", summary="A learner's progress towards each badge")
async def learner_badges(
    tenant: TenantPath, learner_id: LearnerPath, request: Request, _: PortfolioCaller
) -> BadgeList:
    bind_tenant(request, tenant)
    found = await run_in_threadpool(_reader(request, "badge_progress"), tenant, learner_id)
    fields = BadgeOut.model_fields
    return BadgeList(
        badges=[BadgeOut(**{k: v for k, v in vars(b).items() if k in fields}) for b in found]
    )


@router.get("/roster/{collection}", summary="The tenant's roster people or enrolments (OneRoster)")
async def roster(
    tenant: TenantPath,
    collection: Literal["users", "enrollments"],
    request: Request,
    _: RosterCaller,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Limit = 100,
) -> RosterPage:
    bind_tenant(request, tenant)
    parts = getattr(request.app.state, "roster", None)
    if parts is None:
        raise ProblemError(READ_MODEL_MISSING, "the roster read model is not running here")
    found = await run_in_threadpool(load_resources, parts.read_model, tenant, collection)
    end = offset + limit
    return RosterPage(
        resources=found[offset:end], total=len(found), next_offset=end if end < len(found) else None
    )


def redacted(data: Any) -> Any:
    """`data` without the values of secret-looking fields (hashes and sealed secrets too)."""
    if isinstance(data, dict):
        return {
            k: ("[redacted]" if _SECRET_FIELD.search(k) else redacted(v)) for k, v in data.items()
        }
    if isinstance(data, list):
        return [redacted(item) for item in data]
    return data


def _events(
    connection: NatsConnection, prefix: str, tenant: str, after: int, limit: int
) -> list[dict[str, Any]]:
    found = ReplayFilter(tenant=tenant, from_position=after + 1)
    return list(islice(replay(connection, prefix, found), limit + 1))


@router.get("/events", summary="The tenant's events from the log, in order, a page at a time")
async def events(
    tenant: TenantPath,
    request: Request,
    _: EventsCaller,
    after: Annotated[int, Query(ge=0, le=2**53, description="the last position seen")] = 0,
    limit: Limit = 100,
) -> EventPage:
    bind_tenant(request, tenant)
    runtime = request.app.state.runtime
    connection = NatsConnection.shared(runtime.nats_url)
    prefix = runtime.settings.stream_prefix
    found = await run_in_threadpool(_events, connection, prefix, tenant, after, limit)
    page = [
        EventOut(
            position=record["position"],
            recorded_at=record["recorded_at"],
            aggregate_type=record["aggregate_type"],
            aggregate_id=record["aggregate_id"],
            version=record["version"],
            event_type=record["event_type"],
            data=redacted(record["data"]) if isinstance(record["data"], dict) else {},
        )
        for record in found[:limit]
    ]
    return EventPage(events=page, next_after=page[-1].position if len(found) > limit else None)


@router.post(
    "/learners/{learner_id}/tasks/{task_id}/scores",
    status_code=202,
    summary="Record a score for a learner's task (graded as a submission; passback follows)",
    responses=problem_responses(404),
)
async def post_score(
    tenant: TenantPath,
    learner_id: LearnerPath,
    task_id: TaskPath,
    *,
    body: ScoreIn,
    request: Request,
    caller: ScoresCaller,
) -> ScoreRecorded:
    bind_tenant(request, tenant)
    runtime = request.app.state.runtime
    context = EventContext(
        correlation_id=request.state.correlation_id,
        causation_id=request.state.request_id,
        source="http:api",
        verified_by=caller.verified_by,
    )

    def record() -> RecordedScore:
        with event_context(context):
            return record_score(
                runtime.hub,
                tenant,
                learner_id,
                task_id,
                score=body.score,
                comment=body.comment,
                verified_by=caller.verified_by,
                now=datetime.now(UTC),
            )

    try:
        recorded = await run_in_threadpool(record)
    except ScoreError as error:
        raise ProblemError(SCORE_REFUSED, str(error)) from None
    return ScoreRecorded(submission_id=recorded.submission_id, position=recorded.position)
