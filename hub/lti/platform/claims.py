"""The id_token the hub signs for a launch: the LTI claims, per the tool's privacy settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.domain.learners import Learner
from hub.domain.lti_platform import LtiResourceLink, LtiToolRegistration
from hub.domain.quests import Quest
from hub.lti.platform.hints import LaunchHint
from hub.lti.platform.urls import PlatformUrls
from schemas.lti import (
    AGS_ENDPOINT,
    AGS_SCOPES,
    CONTEXT,
    CONTEXT_COURSE_OFFERING,
    CUSTOM,
    DEEP_LINKING_REQUEST,
    DEEP_LINKING_SETTINGS,
    DEPLOYMENT_ID,
    LTI_VERSION,
    MESSAGE_TYPE,
    NRPS_SERVICE,
    RESOURCE_LINK,
    ROLES,
    SCOPE_NRPS,
    TARGET_LINK_URI,
    TOOL_PLATFORM,
    VERSION,
    role_uris,
)

ID_TOKEN_LIFETIME_S = 300
# pylti1p3 allows no clock leeway: an iat even a second ahead fails there.
IAT_BACKDATE_S = 5


@dataclass(frozen=True)
class LaunchSubject:
    """What the launch says about the person, the context and the link."""

    learner: Learner | None
    quest: Quest | None
    link: LtiResourceLink | None


def id_token_claims(
    urls: PlatformUrls,
    tool: LtiToolRegistration,
    hint: LaunchHint,
    subject: LaunchSubject,
    *,
    nonce: str,
    now: int,
) -> dict[str, Any]:
    settings = tool.settings
    claims: dict[str, Any] = {
        "iss": urls.issuer,
        "aud": tool.client_id,  # one audience: some tools refuse a list
        "azp": tool.client_id,
        "sub": hint.user_id,
        "iat": now - IAT_BACKDATE_S,
        "exp": now + ID_TOKEN_LIFETIME_S,
        "nonce": nonce,
        MESSAGE_TYPE: hint.message_type,
        VERSION: LTI_VERSION,
        DEPLOYMENT_ID: hint.deployment_id,
        ROLES: role_uris(hint.role),
        TOOL_PLATFORM: {"guid": urls.issuer, "name": "Education integration hub"},
        CUSTOM: dict(settings.get("custom") or {}),
    }
    claims |= _person(settings, subject.learner)
    link = subject.link
    target = (link.url if link else None) or str(settings["launch_url"])
    claims[TARGET_LINK_URI] = target
    if link is not None:
        claims[RESOURCE_LINK] = {"id": link.link_id, "title": link.title}
        claims[CUSTOM] |= link.custom
    context_id = link.context_id if link else hint.context_id
    if context_id is not None:
        title = str(subject.quest.details.get("title", "")) if subject.quest else ""
        claims[CONTEXT] = {
            "id": context_id,
            "label": title[:100],
            "title": title,
            "type": [CONTEXT_COURSE_OFFERING],
        }
        claims |= _services(urls, tool, context_id, link)
    if hint.message_type == DEEP_LINKING_REQUEST:
        claims[DEEP_LINKING_SETTINGS] = {
            "deep_link_return_url": urls.deep_link_return,
            "accept_types": ["ltiResourceLink", "link"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": True,
            "auto_create": True,
            "data": hint.hint_id,
        }
    return claims


def _person(settings: dict[str, Any], learner: Learner | None) -> dict[str, Any]:
    if learner is None:
        return {}
    person: dict[str, Any] = {}
    if settings.get("share_name"):
        person |= {
            "name": learner.display_name,
            "given_name": learner.given_name,
            "family_name": learner.family_name,
        }
    if settings.get("share_email") and learner.email:
        person["email"] = learner.email
    return person


def _services(
    urls: PlatformUrls, tool: LtiToolRegistration, context_id: str, link: LtiResourceLink | None
) -> dict[str, Any]:
    services: dict[str, Any] = {}
    ags = [scope for scope in tool.scopes if scope in AGS_SCOPES]
    if ags:
        endpoint: dict[str, Any] = {"scope": ags, "lineitems": urls.line_items(context_id)}
        if link is not None and link.line_item_id:
            endpoint["lineitem"] = urls.line_item(context_id, link.line_item_id)
        services[AGS_ENDPOINT] = endpoint
    if SCOPE_NRPS in tool.scopes:
        services[NRPS_SERVICE] = {
            "context_memberships_url": urls.memberships(context_id),
            "service_versions": ["2.0"],
        }
    return services
