"""What LTI 1.3 platforms send the hub as a tool, and what the hub as a tool sends back.

Claim names are the IMS ones (`https://purl.imsglobal.org/spec/lti/claim/...`); the
models read them by alias and keep unknown claims out of the way (`extra="ignore"`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"
SCORE_MEDIA_TYPE = "application/vnd.ims.lis.v1.score+json"
MEMBERSHIP_MEDIA_TYPES = (
    "application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
    "application/vnd.ims.lis.v2.membershipcontainer+json",  # older Canvas
)
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"

Text = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
Url = Annotated[str, StringConstraints(min_length=8, max_length=2000, pattern=r"^https?://")]


class _Claims(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ResourceLinkClaim(_Claims):
    id: Text
    title: str | None = None
    description: str | None = None


class ContextClaim(_Claims):
    id: Text
    label: str | None = None
    title: str | None = None
    type: list[str] = Field(default_factory=list)


class AgsClaim(_Claims):
    scope: list[str] = Field(default_factory=list)
    lineitems: Url | None = None
    lineitem: Url | None = None


class NrpsClaim(_Claims):
    context_memberships_url: Url
    service_versions: list[str] = Field(default_factory=list)


class DeepLinkingSettings(_Claims):
    deep_link_return_url: Url
    accept_types: list[str] = Field(min_length=1)
    accept_presentation_document_targets: list[str] = Field(default_factory=list)
    accept_multiple: bool = True
    auto_create: bool = False
    title: str | None = None
    text: str | None = None
    data: str | None = None


class LaunchClaims(_Claims):
    """A verified id_token's claims (seed 003 §5.2.2 step 6, and what §5.4 maps)."""

    iss: Text
    sub: Text
    aud: str | list[str]
    azp: str | None = None
    exp: float
    iat: float
    nonce: Text
    message_type: Literal["LtiResourceLinkRequest", "LtiDeepLinkingRequest"] = Field(
        alias=LTI + "message_type"
    )
    version: Literal["1.3.0"] = Field(alias=LTI + "version")
    deployment_id: Text = Field(alias=LTI + "deployment_id")
    target_link_uri: Url = Field(alias=LTI + "target_link_uri")
    roles: list[str] = Field(alias=LTI + "roles")
    resource_link: ResourceLinkClaim | None = Field(None, alias=LTI + "resource_link")
    context: ContextClaim | None = Field(None, alias=LTI + "context")
    custom: dict[str, Any] = Field(default_factory=dict, alias=LTI + "custom")
    name: str = ""
    given_name: str = ""
    family_name: str = ""
    email: Annotated[str, StringConstraints(max_length=320)] = ""
    ags: AgsClaim | None = Field(None, alias=AGS)
    nrps: NrpsClaim | None = Field(None, alias=NRPS)
    deep_linking: DeepLinkingSettings | None = Field(None, alias=DL + "deep_linking_settings")


class LoginInitiation(_Claims):
    """The platform's third-party login initiation (GET query or POST form)."""

    iss: Text
    login_hint: Text
    target_link_uri: Url
    lti_message_hint: str | None = None
    client_id: str | None = None
    lti_deployment_id: str | None = None
    deployment_id: str | None = None  # Canvas's spelling


class PlatformRegistrationIn(BaseModel):
    """An admin registers a platform that launches the hub (Canvas, Moodle, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    issuer: Text
    client_id: Text
    deployment_ids: list[Text] = Field(min_length=1, max_length=100)
    auth_login_url: HttpUrl
    auth_token_url: HttpUrl
    jwks_url: HttpUrl
    allowed_hosts: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="hosts the SSRF guard lets through although they are not public",
    )


class PlatformRegistrationOut(BaseModel):
    id: str
    name: str
    issuer: str
    client_id: str
    deployment_ids: list[str]
    auth_login_url: str
    auth_token_url: str
    jwks_url: str
    login_url: str = Field(description="the hub's OIDC login initiation URL for this tenant")
    launch_url: str = Field(description="the hub's launch (redirect) URL")
    jwks_of_hub: str = Field(description="where the platform reads the hub's public keys")
    position: int | None = None


class Score(BaseModel):
    """An AGS score (`application/vnd.ims.lis.v1.score+json`) the hub posts back."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    userId: str  # noqa: N815 - the AGS field name
    scoreGiven: float | None = None  # noqa: N815
    scoreMaximum: float | None = None  # noqa: N815
    activityProgress: Literal["Initialized", "Started", "InProgress", "Submitted", "Completed"]  # noqa: N815
    gradingProgress: Literal["FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"]  # noqa: N815
    timestamp: str
    comment: str | None = None


class Member(_Claims):
    """One NRPS membership (the fields the hub reads)."""

    user_id: Text
    roles: list[str] = Field(default_factory=list)
    status: str = "Active"
    name: str = ""
    given_name: str = ""
    family_name: str = ""
    email: str = ""
    lis_person_sourcedid: str | None = None


class MembershipContainer(_Claims):
    id: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    members: list[Member] = Field(default_factory=list)
