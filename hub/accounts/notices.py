"""Notification preferences (the signed-in person's choice) and the in-page notifications.

The notifications themselves are in the `notifications` connector's log; this module reads
that log as the hub reads any application's (by name), and imports nothing of it.
"""

from __future__ import annotations

from typing import Annotated, Any

from eventsourcing.application import AggregateNotFoundError, Application
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from hub.accounts.problems import run_command
from hub.application import Hub
from hub.bootstrap import Runtime, eventsourcing_env
from hub.domain.notifications import (
    NotificationPreferences,
    PreferencesError,
    check_choice,
    inbox_id,
    preferences_id,
)
from hub.family.api import SessionDep
from hub.http.problems import ProblemError, ProblemType, problem_responses

PREFERENCES_INVALID = ProblemType("preferences-invalid", "Unknown kind or channel", 422)
router = APIRouter(prefix="/api/v1/me", tags=["accounts"], responses=problem_responses(401, 503))


class NotificationsLog(Application[str]):
    """A read-only view of the `notifications` log."""

    name = "notifications"


class Choice(BaseModel):
    choice: dict[str, list[str]]


def choose(hub: Hub, tenant: str, person_id: str, choice: dict[str, list[str]]) -> dict[str, Any]:
    """Record the person's choice (nothing when unchanged); the choice as kept."""
    checked = check_choice(choice)
    try:
        found: NotificationPreferences = hub.repository.get(preferences_id(tenant, person_id))
    except AggregateNotFoundError:
        found = NotificationPreferences(tenant=tenant, person_id=person_id)
    if found.choice != checked:
        found.choose(checked)
    if found.pending_events:
        hub.save(found)
    return found.choice


def preferences(hub: Hub, tenant: str, person_id: str) -> dict[str, list[str]]:
    try:
        found: NotificationPreferences = hub.repository.get(preferences_id(tenant, person_id))
    except AggregateNotFoundError:
        return NotificationPreferences(tenant=tenant, person_id=person_id).choice
    return found.choice


class NotificationsReader:
    """`read(tenant, person id)`: the person's notifications, the newest first."""

    def __init__(self, runtime: Runtime) -> None:
        self.log = NotificationsLog(eventsourcing_env(runtime.settings, runtime.nats_url))

    def read(self, tenant: str, person_id: str) -> list[dict[str, Any]]:
        try:
            inbox: Any = self.log.repository.get(inbox_id(tenant, person_id))
        except AggregateNotFoundError:
            return []
        return list(reversed(inbox.items))

    def close(self) -> None:
        self.log.close()


def _reader(request: Request) -> NotificationsReader:
    """Made at the first read (the app's lifespan closes it)."""
    state = request.app.state
    if state.notifications_reader is None:
        state.notifications_reader = NotificationsReader(state.runtime)
    reader: NotificationsReader = state.notifications_reader
    return reader


@router.get("/notification-preferences", summary="What I hear about, and how")
async def my_preferences(request: Request, session: SessionDep) -> dict[str, Any]:
    hub = request.app.state.runtime.hub
    found = await run_in_threadpool(preferences, hub, session.tenant, session.learner_id)
    return {"choice": found}


@router.put(
    "/notification-preferences",
    responses=problem_responses(422),
    summary="Choose the achievements I hear about (task_completed, badge_earned, "
    "comment_reply) and how (email, in_page)",
)
async def choose_preferences(body: Choice, request: Request, session: SessionDep) -> dict[str, Any]:
    hub = request.app.state.runtime.hub
    try:
        kept = await run_command(
            request, "session", choose, hub, session.tenant, session.learner_id, body.choice
        )
    except PreferencesError as error:
        raise ProblemError(PREFERENCES_INVALID, str(error)) from error
    return {"choice": kept}


@router.get("/notifications", summary="My notifications (in the page), the newest first")
async def my_notifications(
    request: Request,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    reader = _reader(request)
    found = await run_in_threadpool(reader.read, session.tenant, session.learner_id)
    shown = [n for n in found if "in_page" in n["channels"]][:limit]
    return {"notifications": shown}
