"""Admin routes for a tenant's badges: define, update, retire, list and read one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, FastAPI, Path, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub import badges
from hub.bootstrap import Runtime
from hub.domain.badges import (
    BadgeExistsError,
    BadgeRetiredError,
    BadgeRule,
    RequiredCourse,
    UnknownBadgeError,
)
from hub.domain.base import event_context
from hub.http.admin import SlugPath
from hub.http.admin_context import admin_context
from hub.http.deps import AdminDep, RuntimeDep
from hub.http.middleware import bind_tenant
from hub.http.problems import (
    CONCURRENT_CHANGE,
    NOT_FOUND,
    VALIDATION_FAILED,
    ProblemError,
    ProblemType,
    problem_responses,
)
from schemas.badges import KEY_RULE, BadgeDefinition, BadgeRuleFields, BadgeView, CourseRef

BADGE_EXISTS = ProblemType("badge-exists", "A badge with that key already exists", 409)
BADGE_RETIRED = ProblemType("badge-retired", "The badge is retired", 409)

T = TypeVar("T")
KeyPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=60, description=KEY_RULE)]

router = APIRouter(
    prefix="/api/v1/admin/tenants/{slug}/badges",
    tags=["admin"],
    responses=problem_responses(401, 404, 422, 503),
)


def badge_rule(key: str, body: BadgeRuleFields) -> BadgeRule:
    return BadgeRule(
        key=key,
        name=body.name,
        description=body.description,
        pillar=body.pillar,
        kind=body.kind,
        min_quests=body.min_quests,
        min_xp=body.min_xp,
        required=tuple(
            RequiredCourse(c.source, c.external_id, c.title) for c in body.required_courses
        ),
    )


def badge_view(listing: badges.BadgeListing, position: int | None = None) -> BadgeView:
    rule = listing.rule
    return BadgeView(
        id=listing.badge_id,
        key=rule.key,
        name=rule.name,
        description=rule.description,
        pillar=rule.pillar,
        kind=rule.kind,
        min_quests=rule.min_quests,
        min_xp=rule.min_xp,
        required_courses=[
            CourseRef.model_validate(vars(course), strict=False) for course in rule.required
        ],
        retired=listing.retired,
        position=position,
    )


async def _command(request: Request, slug: str, command: Callable[[], T]) -> T:
    """Run a badge command in a thread with the request's provenance; its errors as problems."""
    bind_tenant(request, slug)
    context = admin_context(request)

    def run() -> T:
        with event_context(context):
            return command()

    try:
        return await run_in_threadpool(run)
    except (badges.UnknownTenantError, UnknownBadgeError) as error:
        raise ProblemError(NOT_FOUND, str(error)) from error
    except BadgeExistsError as error:
        raise ProblemError(
            BADGE_EXISTS, f"{error}; update it instead, or pick another key"
        ) from error
    except BadgeRetiredError as error:
        raise ProblemError(BADGE_RETIRED, f"{error}; define a new badge instead") from error
    except ValueError as error:
        raise ProblemError(VALIDATION_FAILED, str(error)) from error
    except IntegrityError as error:
        raise ProblemError(
            CONCURRENT_CHANGE, "the tenant's badges changed meanwhile; read them and retry"
        ) from error


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Define a badge",
    response_model=BadgeView,
    responses=problem_responses(409),
)
async def define_badge(
    slug: SlugPath, body: BadgeDefinition, request: Request, runtime: RuntimeDep, _: AdminDep
) -> JSONResponse:
    rule = badge_rule(body.key, body)
    done = await _command(request, slug, lambda: badges.define_badge(runtime.hub, slug, rule))
    return JSONResponse(
        badge_view(done.badge, done.position).model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/api/v1/admin/tenants/{slug}/badges/{rule.key}"},
    )


@router.put(
    "/{key}",
    summary="Change a badge's rule (who earned it keeps it)",
    responses=problem_responses(409),
)
async def update_badge(
    slug: SlugPath,
    key: KeyPath,
    body: BadgeRuleFields,
    request: Request,
    runtime: RuntimeDep,
    _: AdminDep,
) -> BadgeView:
    rule = badge_rule(key, body)
    done = await _command(request, slug, lambda: badges.update_badge(runtime.hub, slug, rule))
    return badge_view(done.badge, done.position)


@router.post(
    "/{key}/retire",
    summary="Retire a badge: no one earns it from now on",
    responses=problem_responses(409),
)
async def retire_badge(
    slug: SlugPath, key: KeyPath, request: Request, runtime: RuntimeDep, _: AdminDep
) -> BadgeView:
    done = await _command(request, slug, lambda: badges.retire_badge(runtime.hub, slug, key))
    return badge_view(done.badge, done.position)


@router.get("", summary="List the tenant's badges (retired ones too)")
async def list_badges(
    slug: SlugPath, request: Request, runtime: RuntimeDep, _: AdminDep
) -> list[BadgeView]:
    found = await _command(request, slug, lambda: badges.list_badges(runtime.hub, slug))
    return [badge_view(listing) for listing in found]


@router.get("/{key}", summary="Read one badge")
async def read_badge(
    slug: SlugPath, key: KeyPath, request: Request, runtime: RuntimeDep, _: AdminDep
) -> BadgeView:
    found = await _command(request, slug, lambda: badges.list_badges(runtime.hub, slug))
    for listing in found:
        if listing.rule.key == key:
            return badge_view(listing)
    raise ProblemError(NOT_FOUND, f"no badge {key!r} is defined in tenant {slug!r}")


def install_badges_admin(app: FastAPI, _runtime: Runtime) -> None:
    app.include_router(router)
