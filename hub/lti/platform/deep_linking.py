"""Deep Linking: the tool's signed `LtiDeepLinkingResponse` creates the links it chose.

The response must come from the tool the request went to (its key, `iss` = its
client_id, `aud` = our issuer), echo the request's `data` (the launch's hint id), and
be used once: the launch records `DeepLinked` with the links, in the same commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from eventsourcing.persistence import IntegrityError
from pydantic import ValidationError

from hub.application import Hub
from hub.domain.base import HubAggregate
from hub.domain.lti_platform import LtiGradebook, LtiLaunch, LtiResourceLink, launch_id
from hub.lti.platform.errors import LtiRejectedError
from hub.lti.platform.registrations import (
    check_deployment,
    get,
    line_item_record,
    open_gradebook,
    registration,
)
from hub.lti.platform.tool_keys import ToolKeyCache, unverified_issuer
from hub.lti.platform.urls import PlatformUrls
from schemas.lti import (
    DEEP_LINKING_REQUEST,
    DEEP_LINKING_RESPONSE,
    DEPLOYMENT_ID,
    DL_CONTENT_ITEMS,
    DL_DATA,
    LTI_VERSION,
    MESSAGE_TYPE,
    VERSION,
    LineItemIn,
)

MAX_ITEMS = 50


@dataclass(frozen=True)
class DeepLinked:
    link_ids: list[str]
    position: int


def _invalid(detail: str) -> LtiRejectedError:
    return LtiRejectedError("deep_link_invalid", detail)


def accept_response(
    hub: Hub, tool_keys: ToolKeyCache, urls: PlatformUrls, token: str, *, now: int
) -> DeepLinked:
    tenant = urls.tenant
    tool = registration(hub, tenant, unverified_issuer(token))
    claims = tool_keys.verify(
        tenant, tool.settings, token, issuer=tool.client_id, audience=urls.issuer, now=now
    ).claims
    if claims.get(MESSAGE_TYPE) != DEEP_LINKING_RESPONSE or claims.get(VERSION) != LTI_VERSION:
        raise _invalid(f"message_type must be {DEEP_LINKING_RESPONSE}, version {LTI_VERSION}")
    deployment = str(claims.get(DEPLOYMENT_ID, ""))
    check_deployment(tool, deployment)
    data = claims.get(DL_DATA)
    launch = get(hub, launch_id(tenant, str(data)), LtiLaunch) if isinstance(data, str) else None
    if (
        launch is None
        or launch.message_type != DEEP_LINKING_REQUEST
        or launch.client_id != tool.client_id
        or launch.deployment_id != deployment
    ):
        raise _invalid("data must echo the Deep Linking request this answers")
    if launch.deep_linked or launch.version > 1:
        raise LtiRejectedError("launch_replayed", "this Deep Linking request was already answered")
    items = claims.get(DL_CONTENT_ITEMS) or []
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise _invalid(f"content_items must be a list of at most {MAX_ITEMS}")
    if launch.context_id is None:
        raise _invalid("the request had no context to place links in")
    book = open_gradebook(hub, tenant, tool.client_id, launch.context_id)
    links = [
        _link(hub, launch, book, item, launch_url=str(tool.settings["launch_url"]))
        for item in items
    ]
    launch.deep_link([link.link_id for link in links], items)
    pending: list[HubAggregate] = [launch, *links, book]
    try:
        recordings = hub.save(*pending)
    except IntegrityError as error:  # another response for the same request won
        raise LtiRejectedError(
            "launch_replayed", "this Deep Linking request was already answered"
        ) from error
    return DeepLinked([link.link_id for link in links], recordings[-1].notification.id)


def _link(
    hub: Hub, launch: LtiLaunch, book: LtiGradebook, item: object, *, launch_url: str
) -> LtiResourceLink:
    tenant, context_id = launch.tenant, str(launch.context_id)
    if not isinstance(item, dict) or item.get("type") not in {"ltiResourceLink", "link"}:
        raise _invalid("each content item must be an ltiResourceLink or a link")
    kind = str(item["type"])
    url = item.get("url")
    if kind == "link" and not isinstance(url, str):
        raise _invalid("a link item needs a url")
    custom = item.get("custom") or {}
    if not isinstance(custom, dict):
        raise _invalid("custom must be an object of strings")
    link_id = secrets.token_hex(16)
    line_item_id = None
    if kind == "ltiResourceLink" and item.get("lineItem") is not None:
        try:
            line_item = LineItemIn.model_validate(
                {"label": item.get("title") or "Score", **item["lineItem"]}
            ).model_copy(update={"resourceLinkId": link_id})
        except (ValidationError, TypeError) as error:
            raise _invalid(f"lineItem is not valid: {error}") from error
        line_item_id, record = line_item_record(hub, tenant, line_item)
        book.create_line_item(line_item_id, record, "lti_deep_linking")
    return LtiResourceLink(
        tenant,
        link_id,
        launch.client_id,
        launch.deployment_id,
        context_id,
        kind,
        str(item.get("title") or url or "Untitled")[:500],
        str(url)[:2000] if isinstance(url, str) else (launch_url if kind == "link" else None),
        {str(k): str(v) for k, v in custom.items()},
        line_item_id,
        "lti_deep_linking",
    )
