"""The learner's showcase settings: a JSON API (`/api/v1/me/showcase`) and the dashboard's form.

Both call `set_showcase` with the signed-in learner's id; a form or a request from
another site (its `Origin` not this hub's) is refused before anything is read.
"""

from __future__ import annotations

from uuid import uuid4

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hub.bootstrap import Runtime
from hub.domain.base import EventContext, event_context
from hub.domain.showcases import ShowcaseInvalidError
from hub.http.deps import RuntimeDep
from hub.http.problems import CONCURRENT_CHANGE, problem_responses
from hub.pages.commands import (
    NotThisTenantError,
    ShowcaseState,
    SlugTakenError,
    set_showcase,
    showcase_of,
)
from hub.pages.web import (
    FORBIDDEN,
    SHOWCASE_INVALID,
    SLUG_TAKEN,
    PageError,
    SessionCookie,
    check_same_origin,
    form_fields,
    required_session,
    see_other,
)
from hub.spark.sessions import Session

router = APIRouter(tags=["pages"])


class ShowcaseSettings(BaseModel):
    """What the learner sets: the page's slug and who may see it."""

    slug: str = Field(max_length=40, examples=["sam-builds"])
    visibility: str = Field(examples=["public"], description="private, observers or public")


class ShowcaseOut(BaseModel):
    learner_id: str
    slug: str
    visibility: str
    url: str | None
    position: int | None = None
    changed: bool = False


def _out(state: ShowcaseState, tenant: str) -> ShowcaseOut:
    url = f"/t/{tenant}/portfolio/{state.slug}" if state.slug else None
    return ShowcaseOut(
        learner_id=state.learner_id,
        slug=state.slug,
        visibility=state.visibility,
        url=url,
        position=state.position,
        changed=state.changed,
    )


async def _set(
    request: Request, runtime: Runtime, session: Session, settings: ShowcaseSettings
) -> ShowcaseState:
    context = EventContext(
        correlation_id=getattr(request.state, "request_id", None) or uuid4().hex,
        causation_id=uuid4().hex,
        source="hub",
        verified_by="session",
    )

    def run() -> ShowcaseState:
        with event_context(context):
            return set_showcase(
                runtime.hub,
                session.tenant,
                session.person_id,
                slug=settings.slug,
                visibility=settings.visibility,
            )

    try:
        return await run_in_threadpool(run)
    except ShowcaseInvalidError as error:
        raise PageError(SHOWCASE_INVALID, str(error)) from error
    except SlugTakenError as error:
        raise PageError(SLUG_TAKEN, str(error)) from error
    except NotThisTenantError as error:
        raise PageError(FORBIDDEN, str(error)) from error
    except IntegrityError as error:
        raise PageError(CONCURRENT_CHANGE, "changed at the same moment: try again") from error


@router.get(
    "/api/v1/me/showcase",
    response_model=ShowcaseOut,
    responses=problem_responses(401),
    summary="The signed-in learner's showcase settings",
)
async def get_showcase(
    request: Request, runtime: RuntimeDep, cookie: SessionCookie = None
) -> ShowcaseOut:
    session = required_session(request, cookie)
    state = await run_in_threadpool(showcase_of, runtime.hub, session.tenant, session.person_id)
    return _out(state, session.tenant)


@router.put(
    "/api/v1/me/showcase",
    response_model=ShowcaseOut,
    responses=problem_responses(401, 403, 409, 422),
    summary="Set the signed-in learner's showcase slug and visibility",
)
async def put_showcase(
    settings: ShowcaseSettings,
    *,
    request: Request,
    runtime: RuntimeDep,
    cookie: SessionCookie = None,
) -> JSONResponse:
    session = required_session(request, cookie)
    check_same_origin(request)
    state = await _set(request, runtime, session, settings)
    return JSONResponse(
        _out(state, session.tenant).model_dump(), headers={"Cache-Control": "no-store"}
    )


@router.post(
    "/dashboard/showcase",
    status_code=303,
    responses=problem_responses(401, 403, 409, 413, 422),
    summary="The dashboard's showcase form (application/x-www-form-urlencoded)",
)
async def post_showcase_form(
    request: Request, runtime: RuntimeDep, cookie: SessionCookie = None
) -> RedirectResponse:
    session = required_session(request, cookie)
    fields = await form_fields(request)
    settings = ShowcaseSettings.model_construct(
        slug=fields.get("slug", "").strip().lower(), visibility=fields.get("visibility", "")
    )
    await _set(request, runtime, session, settings)
    return see_other("/dashboard?saved=showcase")
