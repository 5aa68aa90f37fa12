"""Caliper 1.2 entities, events and envelopes the hub emits (pydantic), checked by the 1.2 rules.

The models say what the hub builds; `schemas.caliper_rules` says what Caliper 1.2
allows. `CaliperEvent.to_json()` serialises with the specification's property names
(`@context`, camelCase) and runs the rules, so an event that breaks one raises
`CaliperValidationError` instead of leaving the hub.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, SerializeAsAny

from schemas.caliper_rules import (
    CONTEXT,
    DATA_VERSION,
    CaliperValidationError,
    validate_envelope,
    validate_event,
)

__all__ = [
    "CONTEXT",
    "DATA_VERSION",
    "AssignableDigitalResource",
    "Attempt",
    "CaliperEvent",
    "CaliperValidationError",
    "CourseSection",
    "DigitalResource",
    "Entity",
    "Envelope",
    "LtiSession",
    "Membership",
    "Person",
    "Score",
    "Session",
    "SoftwareApplication",
    "SystemIdentifier",
    "caliper_time",
]


def caliper_time(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and `Z`, as the specification's examples write it."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Instant = Annotated[datetime, PlainSerializer(caliper_time, return_type=str)]


class _Caliper(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Entity(_Caliper):
    id: str
    type: str
    name: str | None = None
    dateCreated: Instant | None = None  # noqa: N815 - the specification's property names
    extensions: dict[str, Any] | None = None


class SoftwareApplication(Entity):
    type: Literal["SoftwareApplication"] = "SoftwareApplication"
    version: str | None = None


class SystemIdentifier(_Caliper):
    type: Literal["SystemIdentifier"] = "SystemIdentifier"
    identifier: str
    identifierType: str  # noqa: N815
    source: str | SoftwareApplication | None = None


class Person(Entity):
    type: Literal["Person"] = "Person"
    otherIdentifiers: list[SystemIdentifier] | None = None  # noqa: N815


class CourseSection(Entity):
    type: Literal["CourseSection"] = "CourseSection"
    courseNumber: str | None = None  # noqa: N815
    academicSession: str | None = None  # noqa: N815


class Membership(Entity):
    type: Literal["Membership"] = "Membership"
    member: str
    organization: str
    roles: list[str] = Field(default_factory=lambda: ["Learner"])
    status: Literal["Active", "Inactive"] = "Active"


class DigitalResource(Entity):
    """A DigitalResource or a subtype without properties of its own (WebPage, Document)."""

    type: Literal["DigitalResource", "WebPage", "Document", "Page"] = "DigitalResource"
    isPartOf: str | None = None  # noqa: N815
    mediaType: str | None = None  # noqa: N815


class AssignableDigitalResource(Entity):
    """An assignment; `type` Assessment for quizzes, tests and exams."""

    type: Literal["AssignableDigitalResource", "Assessment"] = "AssignableDigitalResource"
    isPartOf: str | None = None  # noqa: N815
    maxScore: float | None = None  # noqa: N815
    dateToSubmit: Instant | None = None  # noqa: N815


class Attempt(Entity):
    type: Literal["Attempt"] = "Attempt"
    assignee: str
    assignable: str
    count: int = 1
    startedAtTime: Instant | None = None  # noqa: N815
    endedAtTime: Instant | None = None  # noqa: N815


class Score(Entity):
    type: Literal["Score"] = "Score"
    attempt: str
    scoreGiven: float  # noqa: N815
    maxScore: float | None = None  # noqa: N815
    scoredBy: str | None = None  # noqa: N815


class Session(Entity):
    type: Literal["Session"] = "Session"
    user: str | None = None
    startedAtTime: Instant | None = None  # noqa: N815
    endedAtTime: Instant | None = None  # noqa: N815


class LtiSession(Session):
    type: Literal["LtiSession"] = "LtiSession"  # type: ignore[assignment]
    messageParameters: dict[str, Any] | None = None  # noqa: N815


# Serialised as the subclass it is (pydantic would otherwise keep only Entity's fields).
Ref = str | SerializeAsAny[Entity]


class CaliperEvent(_Caliper):
    """One Caliper 1.2 event; `type` and `action` are checked against the rules on `to_json`."""

    context: str = Field(default=CONTEXT, alias="@context")
    id: str
    type: str
    profile: str | None = None
    actor: Ref
    action: str
    object: Ref
    eventTime: Instant  # noqa: N815
    edApp: Ref  # noqa: N815
    generated: Ref | None = None
    target: Ref | None = None
    referrer: Ref | None = None
    group: Ref | None = None
    membership: Ref | None = None
    session: Ref | None = None
    federatedSession: Ref | None = None  # noqa: N815
    extensions: dict[str, Any] | None = None

    def to_json(self, *, check: bool = True) -> dict[str, Any]:
        """The event as it travels; raises `CaliperValidationError` if it breaks a 1.2 rule
        (`check=False` leaves that to the envelope that will carry it)."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        if check:
            validate_event(data)
        return data


class Envelope(_Caliper):
    """What a sensor sends: who sent it, when, and the events (already checked, as JSON)."""

    sensor: str
    sendTime: Instant  # noqa: N815
    dataVersion: str = DATA_VERSION  # noqa: N815
    data: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        validate_envelope(data)
        return data
