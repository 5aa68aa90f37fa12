"""Deep Linking 2.0 as a tool: the picker page, and the signed response posted back.

A deep linking launch answers with the picker (the hub's quests and tasks). The page
carries a signed ticket naming the launch, so choosing works where the iframe's
cookies are blocked. `POST /api/lti/tool/deep-link/respond` records
`LtiLaunch.DeepLinkResponded` once and answers with a page that posts the
`LtiDeepLinkingResponse` JWT (signed with the tenant's key) to `deep_link_return_url`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from html import escape
from typing import TYPE_CHECKING, Any

from eventsourcing.application import AggregateNotFoundError
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from joserfc import jwt
from starlette.concurrency import run_in_threadpool

from hub.domain.base import TENANT_SLUG, tenant_of
from hub.domain.lti_tool import STATE_TTL_S, LtiLaunch, PlatformRegistration
from hub.http.problems import problem_responses
from hub.lti.tool.catalogue import QuestEntry
from hub.lti.tool.gate import Gate
from hub.lti.tool.launches import HUB_TASK
from schemas.lti_tool import DEEP_LINKING_RESPONSE, DL, LTI, LaunchClaims

if TYPE_CHECKING:
    from hub.lti.tool.launches import LaunchResult

router = APIRouter(tags=["lti"])
RESPOND_PATH = "/api/lti/tool/deep-link/respond"
RESPONSE_LIFETIME_S = 300
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _ticket_mac(gate: Gate, payload: str) -> str:
    return _b64(hmac.new(gate.tool.ticket_key, payload.encode(), hashlib.sha256).digest())


def issue_ticket(gate: Gate, launch_id: str, now: int) -> str:
    payload = f"{launch_id}~{now + STATE_TTL_S}"
    return f"{payload}~{_ticket_mac(gate, payload)}"


def read_ticket(gate: Gate, ticket: str, now: int) -> str | None:
    """The launch id a ticket names, if it is ours and not expired."""
    parts = ticket.split("~")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    payload = f"{parts[0]}~{parts[1]}"
    if not hmac.compare_digest(parts[2], _ticket_mac(gate, payload)) or int(parts[1]) < now:
        return None
    return parts[0]


def _choices(catalogue: list[QuestEntry], accept: list[str]) -> list[tuple[str, str, str]]:
    """(value, label, kind) for every item the platform accepts."""
    out: list[tuple[str, str, str]] = []
    for quest in catalogue:
        if "link" in accept:
            out.append((f"link:{quest.id}", quest.title, "link to the quest"))
        for task in quest.tasks:
            if "ltiResourceLink" in accept:
                out.append(
                    (f"ltiResourceLink:{task.id}", f"{quest.title}: {task.title}", "activity")
                )
    return out


async def picker_page(gate: Gate, result: LaunchResult, claims: LaunchClaims) -> HTMLResponse:
    """The page a teacher picks from, right in the launch's response."""
    assert claims.deep_linking is not None
    assert gate.tenant is not None
    settings = claims.deep_linking
    catalogue = await run_in_threadpool(gate.tool.catalogue, gate.tenant)
    choices = _choices(catalogue, settings.accept_types)
    kind = "checkbox" if settings.accept_multiple else "radio"
    rows = (
        "\n".join(
            f'<li><label><input type="{kind}" name="item" value="{escape(value)}"> '
            f"{escape(label)} <small>({escape(what)})</small></label></li>"
            for value, label, what in choices
        )
        or "<li>The hub has no quests or tasks for this school yet.</li>"
    )
    ticket = issue_ticket(gate, result.launch_id, int(time.time()))
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Choose from the hub</title></head>
<body><h1>{escape(settings.title or "Choose what to add")}</h1>
<form method="post" action="{RESPOND_PATH}">
<input type="hidden" name="ticket" value="{escape(ticket)}">
<ul>{rows}</ul>
<button type="submit">Add</button>
</form></body></html>"""
    return HTMLResponse(body, headers=_HEADERS)


def _content_item(
    value: str, by_id: dict[str, tuple[str, str, float | None]], launch_url: str, base: str
) -> dict[str, Any]:
    kind, _, resource = value.partition(":")
    title, quest, points = by_id[resource]
    if kind == "link":
        return {"type": "link", "title": title, "url": f"{base}/dashboard?quest={resource}"}
    item: dict[str, Any] = {
        "type": "ltiResourceLink",
        "title": title,
        "url": launch_url,
        "custom": {HUB_TASK: resource, "hub_quest": quest},
    }
    if points is not None:
        item["lineItem"] = {"scoreMaximum": points, "label": title, "resourceId": resource}
    return item


def _known(catalogue: list[QuestEntry]) -> dict[str, tuple[str, str, float | None]]:
    known: dict[str, tuple[str, str, float | None]] = {}
    for quest in catalogue:
        known[quest.id] = (quest.title, quest.id, None)
        for task in quest.tasks:
            known[task.id] = (task.title, quest.id, task.max_points)
    return known


def sign_response(  # noqa: PLR0917 - each is one part of the response
    gate: Gate,
    tenant: str,
    registration: PlatformRegistration,
    deployment_id: str,
    items: list[dict[str, Any]],
    data: str | None,
) -> str:
    signing = gate.tool.keys.signing_key(tenant)
    now = int(time.time())
    claims = {
        "iss": registration.client_id,
        "aud": [registration.issuer],
        "azp": registration.client_id,
        "iat": now - 5,
        "exp": now + RESPONSE_LIFETIME_S,
        "nonce": secrets.token_urlsafe(16),
        LTI + "message_type": DEEP_LINKING_RESPONSE,
        LTI + "version": "1.3.0",
        LTI + "deployment_id": deployment_id,
        DL + "content_items": items,
        DL + "data": data,
    }
    return jwt.encode(signing.header, claims, signing.key)


def respond_once(gate: Gate, launch: LtiLaunch, items: list[dict[str, Any]]) -> tuple[str, str]:
    """Sign the response and record it; returns (return URL, JWT). Blocking."""
    hub = gate.tool.runtime.hub
    registration: PlatformRegistration = hub.repository.get(launch.registration_id)
    settings = launch.deep_linking or {}
    token = sign_response(
        gate,
        launch.tenant,
        registration,
        launch.deployment_id or "",
        items,
        settings.get("data"),
    )
    url = str(settings["deep_link_return_url"])
    launch.respond(
        items=items, return_url=url, jwt_sha256=hashlib.sha256(token.encode()).hexdigest()
    )
    hub.save(launch)
    return url, token


@router.post(
    RESPOND_PATH,
    response_class=HTMLResponse,
    responses=problem_responses(401, 409, 422, 503),
    summary="The teacher's choice: answers with the signed LtiDeepLinkingResponse form post",
)
async def respond(request: Request) -> HTMLResponse:
    gate = Gate(request, "lti-deep-link")
    form = await request.form()
    ticket = form.get("ticket")
    chosen = [v for v in form.getlist("item") if isinstance(v, str)]
    found = read_ticket(gate, ticket, int(time.time())) if isinstance(ticket, str) else None
    if found is None or not TENANT_SLUG.match(tenant_of(found)):
        await gate.reject("ticket_invalid", "open the deep linking page from the platform again")
    gate.known_tenant(tenant_of(found))
    hub = gate.tool.runtime.hub
    try:
        launch: LtiLaunch = await run_in_threadpool(hub.repository.get, found)
    except AggregateNotFoundError:
        await gate.reject("ticket_invalid", "open the deep linking page from the platform again")
    if launch.message_type != "LtiDeepLinkingRequest" or not launch.deep_linking:
        await gate.reject("not_deep_linking", "this launch was not a deep linking request")
    if launch.responded:
        await gate.reject("deep_link_responded", "this request was already answered")
    settings = launch.deep_linking
    known = _known(await run_in_threadpool(gate.tool.catalogue, launch.tenant))
    accept = list(settings.get("accept_types", []))
    wrong = [
        v for v in chosen if v.partition(":")[0] not in accept or v.partition(":")[2] not in known
    ]
    if wrong or (len(chosen) > 1 and not settings.get("accept_multiple", True)):
        await gate.reject("items_invalid", "choose items the page offered (one, if it asked one)")
    base = f"{request.url.scheme}://{request.url.netloc}"
    launch_url = base + "/api/lti/tool/launch"
    items = [_content_item(v, known, launch_url, base) for v in chosen]
    url, token = await gate.run(respond_once, gate, launch, items)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Returning to your course</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="{escape(url)}">
<input type="hidden" name="JWT" value="{escape(token)}">
<noscript><button type="submit">Continue</button></noscript>
</form></body></html>"""
    return HTMLResponse(page, headers=_HEADERS)
