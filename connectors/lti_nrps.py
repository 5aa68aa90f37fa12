"""NRPS roster reads, the hub as tool: a platform course's members, every page, recorded.

`read_memberships` follows `Link: <...>; rel="next"` to the last page (both NRPS media
types: older Canvas answers with the lis.v2 one). `NrpsRosterReader` is a delivery's
attempt: it reads the course's roster with a token for the NRPS scope and records
`LtiRoster.Read` (who, with which roles) in the connector's log, beside the attempt,
after turning it into enrolments in the course's quest (`hub.lti.tool.rosters`: the active
members enrolled, those of the previous read who are gone dropped; idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from eventsourcing.application import AggregateNotFoundError, Application
from pydantic import ValidationError

from connectors.deliveries import AttemptResult
from connectors.domain import ConnectorAggregate
from connectors.lti_token import LtiServiceError, ToolTokens, client_for, error_of
from hub.application import Hub
from hub.domain.base import EventContext, aggregate_id, event_context, tenant_of
from hub.domain.deliveries import Delivery
from hub.domain.lti_tool import PlatformRegistration
from hub.lti.tool.rosters import apply_roster
from schemas.lti_tool import MEMBERSHIP_MEDIA_TYPES, SCOPE_NRPS, Member, MembershipContainer

CONNECTOR = "lti-nrps-roster"
MAX_PAGES = 200


def roster_id(tenant: str, quest_id: str) -> str:
    return aggregate_id(tenant, "LtiRoster", quest_id)


class LtiRoster(ConnectorAggregate):
    """A platform course's members as its NRPS service last listed them."""

    def __init__(self) -> None:
        self.members: list[dict[str, Any]] = []

    @dataclass(frozen=True)
    class Read(ConnectorAggregate.Opening):
        quest_id: str
        memberships_url: str
        members: list[dict[str, Any]]
        pages: int

        def apply(self, aggregate: Any) -> None:
            roster: LtiRoster = aggregate
            roster.members = self.members


def read_memberships(client: httpx.Client, url: str, token: str) -> tuple[list[Member], int]:
    """Every member, following rel="next"; raises `LtiServiceError`."""
    members: list[Member] = []
    next_url: str | None = url
    pages = 0
    while next_url is not None and pages < MAX_PAGES:
        response = client.get(
            next_url,
            headers={"Authorization": f"Bearer {token}", "Accept": MEMBERSHIP_MEDIA_TYPES[0]},
        )
        if not response.is_success:
            raise error_of(response, "the platform's NRPS")
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if media_type not in {*MEMBERSHIP_MEDIA_TYPES, "application/json"}:
            msg = f"the platform's NRPS answered {media_type!r}"
            raise LtiServiceError(msg, status_code=response.status_code)
        try:
            page = MembershipContainer.model_validate_json(response.content)
        except ValidationError as error:
            msg = "the platform's NRPS answer is not a membership container"
            raise LtiServiceError(msg, status_code=response.status_code) from error
        members.extend(page.members)
        pages += 1
        next_url = response.links.get("next", {}).get("url")
    return members, pages


@dataclass
class NrpsRosterReader:
    """One attempt: read the roster of the delivery's course and record it in `log`."""

    hub: Hub
    log: Application[Any]
    tokens: ToolTokens

    def __call__(self, delivery: Delivery) -> AttemptResult:
        payload = delivery.payload
        try:
            registration: PlatformRegistration = self.hub.repository.get(
                str(payload["registration_id"])
            )
        except (AggregateNotFoundError, KeyError):
            return AttemptResult(False, error="the platform is no longer registered")
        try:
            token = self.tokens.token(registration, [SCOPE_NRPS])
            with client_for(registration.allowed_hosts) as client:
                members, pages = read_memberships(client, delivery.target, token)
        except LtiServiceError as error:
            if error.status_code == 401:
                self.tokens.forget(registration, [SCOPE_NRPS])
            return AttemptResult(
                False,
                error.status_code,
                str(error),
                error.retryable or error.status_code == 401,
                error.retry_after,
            )
        except httpx.HTTPError as error:
            return AttemptResult(
                False, error=f"the platform could not be reached: {error}", retryable=True
            )
        self._record(delivery, registration, members, pages)
        return AttemptResult(True, 200)

    def _record(
        self,
        delivery: Delivery,
        registration: PlatformRegistration,
        members: list[Member],
        pages: int,
    ) -> None:
        tenant = tenant_of(delivery.id)
        quest = str(delivery.payload["quest_id"])
        the_id = roster_id(tenant, quest)
        try:
            existing: LtiRoster | None = self.log.repository.get(the_id)
        except AggregateNotFoundError:
            existing = None
        previous = [str(m["user_id"]) for m in existing.members] if existing else []
        context = EventContext(delivery.id, delivery.id, source="lti", verified_by="nrps")
        with event_context(context):
            apply_roster(self.hub, registration, quest, members, previous)
        roster = LtiRoster.record(
            existing,
            the_id,
            LtiRoster.Read,
            quest_id=quest,
            memberships_url=delivery.target,
            members=[m.model_dump(mode="json", exclude_none=True) for m in members],
            pages=pages,
        )
        self.log.save(roster)
