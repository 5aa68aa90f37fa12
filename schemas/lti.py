"""LTI 1.3 Advantage on the wire: claim names, role URIs, scopes, AGS and NRPS media types.

Shared by the hub as platform and as tool (the tool's own shapes are in `schemas/lti_tool.py`).
Field names follow the IMS specifications (camelCase where they use it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

LTI_VERSION = "1.3.0"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = CLAIM + "message_type"
VERSION = CLAIM + "version"
DEPLOYMENT_ID = CLAIM + "deployment_id"
TARGET_LINK_URI = CLAIM + "target_link_uri"
RESOURCE_LINK = CLAIM + "resource_link"
CONTEXT = CLAIM + "context"
ROLES = CLAIM + "roles"
CUSTOM = CLAIM + "custom"
TOOL_PLATFORM = CLAIM + "tool_platform"
LAUNCH_PRESENTATION = CLAIM + "launch_presentation"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_SERVICE = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
DEEP_LINKING_SETTINGS = DL_CLAIM + "deep_linking_settings"
DL_CONTENT_ITEMS = DL_CLAIM + "content_items"
DL_DATA = DL_CLAIM + "data"
DL_MSG = DL_CLAIM + "msg"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES = (SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE)
ALL_SCOPES = (*AGS_SCOPES, SCOPE_NRPS)

LINEITEM_MEDIA = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEM_CONTAINER_MEDIA = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_MEDIA = "application/vnd.ims.lis.v1.score+json"
RESULT_CONTAINER_MEDIA = "application/vnd.ims.lis.v2.resultcontainer+json"
MEMBERSHIP_MEDIA = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
OLD_MEMBERSHIP_MEDIA = "application/vnd.ims.lis.v2.membershipcontainer+json"

ROLE_BASE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
LEARNER = ROLE_BASE + "Learner"
INSTRUCTOR = ROLE_BASE + "Instructor"
TEACHING_ASSISTANT = ROLE_BASE + "Instructor#TeachingAssistant"
MENTOR = ROLE_BASE + "Mentor"
ADMINISTRATOR = ROLE_BASE + "Administrator"
INSTITUTION_ADMINISTRATOR = (
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
)
CONTEXT_COURSE_OFFERING = "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"

# The hub's own roles -> the context roles a tool sees.
HUB_ROLE_URIS: dict[str, tuple[str, ...]] = {
    "student": (LEARNER,),
    "learner": (LEARNER,),
    "teacher": (INSTRUCTOR,),
    "instructor": (INSTRUCTOR,),
    "ta": (TEACHING_ASSISTANT,),
    "parent": (MENTOR,),
    "guardian": (MENTOR,),
    "observer": (MENTOR,),
    "admin": (ADMINISTRATOR, INSTITUTION_ADMINISTRATOR),
}
# NRPS `role=` filters may be short names (`Learner`) or full URIs.
SHORT_ROLES = {uri.rsplit("#", 1)[-1]: uri for uri in (LEARNER, INSTRUCTOR, MENTOR, ADMINISTRATOR)}


def role_uris(hub_role: str) -> list[str]:
    return list(HUB_ROLE_URIS.get(hub_role.lower(), (LEARNER,)))


ActivityProgress = Literal["Initialized", "Started", "InProgress", "Submitted", "Completed"]
GradingProgress = Literal["FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"]
Text = Annotated[str, Field(max_length=1000)]
ScoreNumber = Annotated[float, Field(ge=0, le=1_000_000)]


class LineItemIn(BaseModel):
    """A line item as a tool creates or replaces it (`application/vnd.ims.lis.v2.lineitem+json`)."""

    model_config = ConfigDict(extra="ignore")

    label: Annotated[str, Field(min_length=1, max_length=500)]
    scoreMaximum: Annotated[float, Field(gt=0, le=1_000_000)]  # noqa: N815
    resourceLinkId: Text | None = None  # noqa: N815
    resourceId: Text | None = None  # noqa: N815
    tag: Text | None = None
    startDateTime: datetime | None = None  # noqa: N815
    endDateTime: datetime | None = None  # noqa: N815


class ScoreIn(BaseModel):
    """A score a tool posts (`application/vnd.ims.lis.v1.score+json`)."""

    model_config = ConfigDict(extra="ignore")

    userId: Annotated[str, Field(min_length=1, max_length=200)]  # noqa: N815
    scoreGiven: ScoreNumber | None = None  # noqa: N815
    scoreMaximum: Annotated[float, Field(gt=0, le=1_000_000)] | None = None  # noqa: N815
    comment: Annotated[str, Field(max_length=10_000)] | None = None
    activityProgress: ActivityProgress  # noqa: N815
    gradingProgress: GradingProgress  # noqa: N815
    timestamp: datetime

    @model_validator(mode="after")
    def _given_needs_maximum(self) -> ScoreIn:
        if self.scoreGiven is not None and self.scoreMaximum is None:
            msg = "scoreGiven needs scoreMaximum"
            raise ValueError(msg)
        if self.timestamp.tzinfo is None:
            msg = "timestamp needs a time zone offset (ISO 8601 with Z or +hh:mm)"
            raise ValueError(msg)
        return self


class ToolRegistrationIn(BaseModel):
    """An external tool the tenant launches (the hub is its platform)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)]
    client_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._~-]{1,100}$")] | None = None
    deployment_ids: Annotated[
        list[Annotated[str, Field(pattern=r"^[A-Za-z0-9._~-]{1,100}$")]],
        Field(min_length=1, max_length=20),
    ] = ["1"]
    login_url: HttpUrl
    launch_url: HttpUrl
    redirect_uris: Annotated[list[HttpUrl], Field(min_length=1, max_length=20)]
    jwks_url: HttpUrl | None = None
    public_jwk: dict[str, Any] | None = None
    scopes: list[Literal[ALL_SCOPES]] = list(ALL_SCOPES)  # type: ignore[valid-type]
    share_name: bool = True
    share_email: bool = False
    custom: dict[str, str] = {}

    @model_validator(mode="after")
    def _one_key_source(self) -> ToolRegistrationIn:
        if (self.jwks_url is None) == (self.public_jwk is None):
            msg = "give exactly one of jwks_url or public_jwk"
            raise ValueError(msg)
        return self


class ResourceLinkIn(BaseModel):
    """A placement of a tool in a context (a Spark quest), optionally graded."""

    model_config = ConfigDict(extra="forbid")

    client_id: Annotated[str, Field(min_length=1, max_length=100)]
    deployment_id: Annotated[str, Field(min_length=1, max_length=100)]
    context_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    title: Annotated[str, Field(min_length=1, max_length=500)]
    url: HttpUrl | None = None
    custom: dict[str, str] = {}
    line_item: LineItemIn | None = None


@dataclass(frozen=True)
class MembersQuery:
    """A page of a context's members, as NRPS asks the roster read model for it."""

    tenant: str
    quest_id: str
    roles: tuple[str, ...] | None  # hub roles; None: everyone
    offset: int
    limit: int


@dataclass(frozen=True)
class Member:
    """One person of a context, as the roster read model knows them (`role`: the hub's)."""

    user_id: str
    name: str
    email: str
    role: str


RATE_LIMITED_ENDPOINTS = ("login", "launch", "authorize", "token", "ags", "nrps")
"""The LTI endpoints with a rate limit: the tool's login and launch; the platform's OIDC
authorization, token endpoint, AGS and NRPS."""

PerMinute = Annotated[int, Field(ge=1, le=1_000_000)]


class RateLimitsIn(BaseModel):
    """A tenant's LTI rate limits, requests per minute per endpoint: for the whole tenant,
    and for each client_id (a tool, or a platform's registration). An endpoint left out
    keeps its default."""

    model_config = ConfigDict(extra="forbid")

    tenant: dict[Literal[RATE_LIMITED_ENDPOINTS], PerMinute] = {}  # type: ignore[valid-type]
    client: dict[Literal[RATE_LIMITED_ENDPOINTS], PerMinute] = {}  # type: ignore[valid-type]
