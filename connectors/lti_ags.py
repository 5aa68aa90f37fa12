"""AGS score post-back, the hub as tool: a completed task's score to each platform line item.

`scores_for` turns a `Progress.TaskCompleted` (or `TaskResubmitted`) into one delivery
payload per resource link that opens the task and carries a line item the hub may
score (the launch's AGS claim). `AgsScoreSender` POSTs one to `{lineitem}/scores` as
`application/vnd.ims.lis.v1.score+json` with a bearer token from `ToolTokens`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from eventsourcing.application import AggregateNotFoundError, Application
from pydantic import ValidationError

from connectors.deliveries import AttemptResult
from connectors.lti_token import LtiServiceError, ToolTokens, client_for, error_of
from hub.domain.base import tenant_of
from hub.domain.deliveries import Delivery
from hub.domain.learners import Learner
from hub.domain.lti_tool import (
    SOURCE,
    LtiResourceLink,
    LtiTaskLinks,
    PlatformRegistration,
    task_links_id,
)
from hub.domain.quests import Task
from schemas.lti_tool import SCOPE_SCORE, SCORE_MEDIA_TYPE, Score

CONNECTOR = "lti-ags-scores"
DEFAULT_MAX_SCORE = 100.0


@dataclass(frozen=True)
class ScoreDelivery:
    """What one score delivery needs: its key, target, and payload."""

    key: str
    target: str
    payload: dict[str, Any]


def scores_url(lineitem: str) -> str:
    """`{lineitem}/scores`, keeping the line item URL's query (Moodle puts ids there)."""
    parts = urlsplit(lineitem)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def _get(app: Application[Any], aggregate_id: str) -> Any:
    try:
        return app.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None


def platform_user(learner: Learner, link: LtiResourceLink) -> str | None:
    """The learner's `sub` on the link's platform, if they ever launched from it."""
    prefix = f"{SOURCE}:{link.issuer}|{link.client_id}|"
    for identity in learner.identities:
        if identity.startswith(prefix):
            return identity.removeprefix(prefix)
    return None


def scores_for(hub: Application[Any], event: Any) -> list[ScoreDelivery]:
    """The score deliveries a completion makes (none when no platform grades its task)."""
    tenant = tenant_of(event.learner_id)
    links: LtiTaskLinks | None = _get(hub, task_links_id(tenant, event.task_id))
    learner: Learner | None = _get(hub, event.learner_id)
    if links is None or learner is None:
        return []
    out = []
    for link_id in links.links:
        link: LtiResourceLink | None = _get(hub, link_id)
        if link is None or not link.lineitem or SCOPE_SCORE not in link.scopes:
            continue
        user = platform_user(learner, link)
        if user is None:
            continue
        score = _score(hub, event, user)
        out.append(
            ScoreDelivery(
                key=f"{event.submission_id}|{link_id}",
                target=scores_url(link.lineitem),
                payload={
                    "registration_id": link.registration_id,
                    "score": score.model_dump(mode="json", exclude_none=True),
                },
            )
        )
    return out


def _score(hub: Application[Any], event: Any, user: str) -> Score:
    if event.grade is None:
        return Score(
            userId=user,
            activityProgress="Submitted",
            gradingProgress="PendingManual",
            timestamp=event.submitted_at,
        )
    task: Task | None = _get(hub, event.task_id)
    points = task.details.get("max_points") if task is not None else None
    return Score(
        userId=user,
        scoreGiven=float(event.grade),
        scoreMaximum=float(points) if points else DEFAULT_MAX_SCORE,
        activityProgress="Completed",
        gradingProgress="FullyGraded",
        timestamp=event.submitted_at,
    )


@dataclass
class AgsScoreSender:
    """One attempt: POST the score with a token for the score scope."""

    hub: Application[Any]
    tokens: ToolTokens

    def __call__(self, delivery: Delivery) -> AttemptResult:
        registration: PlatformRegistration | None = _get(
            self.hub, str(delivery.payload.get("registration_id"))
        )
        if registration is None:
            return AttemptResult(False, error="the platform is no longer registered")
        try:
            response = self._post(registration, delivery)
        except LtiServiceError as error:
            return AttemptResult(
                False, error.status_code, str(error), error.retryable, error.retry_after
            )
        except (ValidationError, KeyError) as error:
            return AttemptResult(False, error=f"the payload is not a score: {error}")
        return self._outcome(registration, response)

    def _outcome(
        self, registration: PlatformRegistration, response: httpx.Response
    ) -> AttemptResult:
        if response.is_success:
            return AttemptResult(True, response.status_code)
        if response.status_code == 401:  # the token expired early or was revoked
            self.tokens.forget(registration, [SCOPE_SCORE])
            return AttemptResult(False, 401, "the platform refused the token", retryable=True)
        refused = error_of(response, "the platform's AGS")
        return AttemptResult(
            False, refused.status_code, str(refused), refused.retryable, refused.retry_after
        )

    def _post(self, registration: PlatformRegistration, delivery: Delivery) -> httpx.Response:
        score = Score.model_validate(delivery.payload["score"])
        token = self.tokens.token(registration, [SCOPE_SCORE])
        try:
            with client_for(registration.allowed_hosts) as client:
                return client.post(
                    delivery.target,
                    content=score.model_dump_json(exclude_none=True),
                    headers={"Authorization": f"Bearer {token}", "Content-Type": SCORE_MEDIA_TYPE},
                )
        except httpx.HTTPError as error:
            msg = f"the platform could not be reached: {error}"
            raise LtiServiceError(msg, retryable=True) from error
