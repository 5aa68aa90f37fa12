"""Launch handlers: start a launch (the hint), and answer the tool's authorization request.

`authorize` checks the request (OIDC parameters, the registered `redirect_uri`, the hint
the hub issued, the launching user), records `LtiLaunch.Accepted` (the hint's single use)
and returns the signed id_token to post back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from eventsourcing.persistence import IntegrityError
from joserfc import jwt

from hub.application import Hub
from hub.audit import sha256_hex
from hub.domain.learners import Learner
from hub.domain.lti_platform import LtiLaunch
from hub.domain.quests import Quest
from hub.lti.keys import LtiKeys
from hub.lti.platform.claims import LaunchSubject, id_token_claims
from hub.lti.platform.errors import LtiRejectedError
from hub.lti.platform.hints import LaunchHint, issue_hint, open_hint
from hub.lti.platform.registrations import (
    check_deployment,
    context_quest,
    get,
    registration,
    resource_link,
)
from hub.lti.platform.urls import PlatformUrls
from infra.secrets import SecretBox
from schemas.lti import DEEP_LINKING_REQUEST, RESOURCE_LINK_REQUEST

REQUIRED = {
    "scope": "openid",
    "response_type": "id_token",
    "response_mode": "form_post",
    "prompt": "none",
}


@dataclass(frozen=True)
class Authorized:
    redirect_uri: str
    id_token: str
    state: str | None
    position: int


def login_redirect(
    hub: Hub,
    box: SecretBox,
    urls: PlatformUrls,
    *,
    user_id: str,
    role: str,
    now: int,
    link_id: str | None = None,
    client_id: str | None = None,
    deployment_id: str | None = None,
    context_id: str | None = None,
) -> str:
    """The tool's login initiation URL for a resource link launch (`link_id`) or a Deep
    Linking request (`client_id`, `deployment_id`, `context_id`)."""
    tenant = urls.tenant
    if link_id is not None:
        link = resource_link(hub, tenant, link_id)
        client_id, deployment_id, context_id = link.client_id, link.deployment_id, link.context_id
        message_type, target = RESOURCE_LINK_REQUEST, link.url
    else:
        message_type, target = DEEP_LINKING_REQUEST, None
    if client_id is None or deployment_id is None:
        raise LtiRejectedError("request_invalid", "name the tool's client_id and deployment_id")
    tool = registration(hub, tenant, client_id)
    check_deployment(tool, deployment_id)
    if context_id is not None and link_id is None:
        context_quest(hub, tenant, context_id)
    hint = issue_hint(
        box,
        tenant,
        client_id=client_id,
        deployment_id=deployment_id,
        message_type=message_type,
        user_id=user_id,
        role=role,
        context_id=context_id,
        link_id=link_id,
        now=now,
    )
    params = {
        "iss": urls.issuer,
        "login_hint": user_id,
        "target_link_uri": target or str(tool.settings["launch_url"]),
        "lti_message_hint": hint,
        "client_id": client_id,
        "lti_deployment_id": deployment_id,
    }
    login_url = str(tool.settings["login_url"])
    return login_url + ("&" if "?" in login_url else "?") + urlencode(params)


def check_request(params: Mapping[str, str]) -> None:
    for name, expected in REQUIRED.items():
        if params.get(name) != expected:
            raise LtiRejectedError(
                "request_invalid", f"{name} must be {expected!r}, not {params.get(name)!r}"
            )
    for name in ("client_id", "redirect_uri", "login_hint", "lti_message_hint", "nonce"):
        if not params.get(name):
            raise LtiRejectedError("request_invalid", f"{name} is required")


def authorize(
    hub: Hub,
    box: SecretBox,
    keys: LtiKeys,
    urls: PlatformUrls,
    params: Mapping[str, str],
    *,
    session_user: str,
    now: int,
) -> Authorized:
    tenant = urls.tenant
    check_request(params)
    hint = open_hint(box, tenant, params["lti_message_hint"], now=now)
    if params["client_id"] != hint.client_id:
        raise LtiRejectedError("request_invalid", "client_id is not the tool this launch is for")
    tool = registration(hub, tenant, hint.client_id)
    check_deployment(tool, hint.deployment_id)  # removed since the hint was issued
    redirect_uri = params["redirect_uri"]
    if redirect_uri not in tool.settings["redirect_uris"]:
        raise LtiRejectedError(
            "redirect_uri_unregistered", f"{redirect_uri[:200]!r} is not registered for this tool"
        )
    if params["login_hint"] != hint.user_id or session_user != hint.user_id:
        raise LtiRejectedError(
            "login_hint_mismatch", "the launch was started by another user: start it again"
        )
    subject = _subject(hub, tenant, hint)
    claims = id_token_claims(urls, tool, hint, subject, nonce=params["nonce"], now=now)
    launch = LtiLaunch(
        tenant,
        hint.hint_id,
        hint.client_id,
        hint.deployment_id,
        hint.message_type,
        hint.user_id,
        hint.link_id,
        claims.get("https://purl.imsglobal.org/spec/lti/claim/context", {}).get("id"),
        claims,
        sha256_hex(params.get("state", "")),
        sha256_hex(params["nonce"]),
    )
    try:
        recordings = hub.save(launch)
    except IntegrityError as error:
        raise LtiRejectedError(
            "launch_replayed", "this launch was already completed: start it again from the hub"
        ) from error
    signing = keys.signing_key(tenant)
    token = jwt.encode(signing.header, claims, signing.key, algorithms=["RS256"])
    return Authorized(redirect_uri, token, params.get("state"), recordings[-1].notification.id)


def _subject(hub: Hub, tenant: str, hint: LaunchHint) -> LaunchSubject:
    link = resource_link(hub, tenant, hint.link_id) if hint.link_id else None
    context_id = link.context_id if link else hint.context_id
    quest = get(hub, f"{tenant}.Quest.{context_id}", Quest) if context_id else None
    person = get(hub, hint.user_id, Learner) if hint.user_id.startswith(f"{tenant}.") else None
    return LaunchSubject(person if isinstance(person, Learner) else None, quest, link)
