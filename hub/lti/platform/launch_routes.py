"""Launch routes: a signed-in person starts a launch; the tool's authorization request returns
to the hub, which posts the signed id_token to the tool's registered redirect URI.
"""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Cookie, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from hub.http.problems import problem_responses
from hub.lti.platform import deep_linking, launches
from hub.lti.platform.errors import LtiRejectedError
from hub.lti.platform.state import LtiGate, now_s, read_form
from hub.spark.sessions import COOKIE_NAME, Session, SessionInvalidError

router = APIRouter(tags=["lti"])
SessionCookie = Annotated[str | None, Cookie(alias=COOKIE_NAME)]
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
KIND = "lti_launch"


async def _session(gate: LtiGate, cookie: str | None) -> Session:
    tenant = await gate.check_tenant()
    try:
        session = gate.platform.signer.read(cookie, now=now_s())
    except SessionInvalidError as error:
        await gate.reject("session_required", str(error))
    if session.tenant != tenant:
        await gate.reject("session_required", f"your session is not for tenant {tenant!r}")
    return session


async def _to_tool_login(gate: LtiGate, cookie: str | None, **target: str) -> RedirectResponse:
    """The signed-in person's browser, sent to the tool's login initiation."""
    session = await _session(gate, cookie)
    platform = gate.platform
    location = await gate.run(
        "session",
        launches.login_redirect,
        platform.runtime.hub,
        platform.runtime.box,
        gate.urls,
        user_id=session.learner_id,
        role=session.role,
        now=now_s(),
        **target,
    )
    return RedirectResponse(location, status_code=302, headers=_NO_STORE)


@router.get(
    "/t/{tenant}/lti/launch/{link_id}",
    status_code=302,
    responses=problem_responses(400, 401, 404),
    summary="Launch a resource link: the browser goes to the tool's login initiation",
)
async def start_launch(
    tenant: str, link_id: str, request: Request, hub_session: SessionCookie = None
) -> RedirectResponse:
    return await _to_tool_login(LtiGate(request, tenant, KIND), hub_session, link_id=link_id)


@router.get(
    "/t/{tenant}/lti/deep-link/{client_id}",
    status_code=302,
    responses=problem_responses(400, 401, 404),
    summary="Ask a tool for content (Deep Linking request) for a context",
)
async def start_deep_linking(
    tenant: str,
    client_id: str,
    request: Request,
    *,
    deployment_id: Annotated[str, Query(max_length=100)],
    context_id: Annotated[str, Query(max_length=64)],
    hub_session: SessionCookie = None,
) -> RedirectResponse:
    return await _to_tool_login(
        LtiGate(request, tenant, KIND),
        hub_session,
        client_id=client_id,
        deployment_id=deployment_id,
        context_id=context_id,
    )


_AUTHORIZE = "/t/{tenant}/api/lti/platform/authorize"
_AUTHORIZE_DOC = "OIDC authorization (the tool's third-party login comes back here)"


@router.get(
    _AUTHORIZE,
    response_class=HTMLResponse,
    responses=problem_responses(400, 401, 404),
    summary=_AUTHORIZE_DOC,
)
async def authorize(tenant: str, request: Request) -> HTMLResponse:
    return await _authorize(tenant, request)


@router.post(
    _AUTHORIZE,
    response_class=HTMLResponse,
    responses=problem_responses(400, 401, 404),
    summary=_AUTHORIZE_DOC + ", as a form post",
)
async def authorize_posted(tenant: str, request: Request) -> HTMLResponse:
    return await _authorize(tenant, request)


async def _authorize(tenant: str, request: Request) -> HTMLResponse:
    gate = LtiGate(request, tenant, KIND)
    params = dict(request.query_params)
    if request.method == "POST":
        params |= await read_form(request)
    gate.seen = {
        "client_id": params.get("client_id", "")[:100],
        "redirect_uri": params.get("redirect_uri", "")[:300],
    }
    session = await _session(gate, request.cookies.get(COOKIE_NAME))
    await gate.limit("authorize")
    platform = gate.platform
    try:
        launches.check_request(params)
    except LtiRejectedError as error:
        await gate.refuse(error)
    result = await gate.run(
        "oidc-form-post",
        launches.authorize,
        platform.runtime.hub,
        platform.runtime.box,
        platform.keys,
        gate.urls,
        params,
        session_user=session.learner_id,
        now=now_s(),
    )
    return HTMLResponse(_form_post(result), headers=_NO_STORE)


def _form_post(result: launches.Authorized) -> str:
    fields = {"id_token": result.id_token}
    if result.state is not None:
        fields["state"] = result.state
    inputs = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in fields.items()
    )
    action = html.escape(result.redirect_uri)
    return (
        "<!doctype html><html><head><title>Launching…</title></head>"
        '<body onload="document.forms[0].submit()">'
        f'<form method="post" action="{action}">{inputs}'
        '<noscript><button type="submit">Continue</button></noscript></form></body></html>'
    )


@router.post(
    "/t/{tenant}/api/lti/platform/deep-link/return",
    response_class=HTMLResponse,
    responses=problem_responses(400, 401, 404),
    summary="Deep Linking: the tool posts its signed response (form field JWT)",
)
async def deep_link_return(tenant: str, request: Request) -> HTMLResponse:
    gate = LtiGate(request, tenant, "lti_deep_link")
    await gate.check_tenant()
    token = (await read_form(request)).get("JWT", "")
    if not token:
        await gate.reject("deep_link_invalid", "post the signed response as the form field JWT")
    gate.token = token
    platform = gate.platform
    result = await gate.run(
        "jwt-rs256",
        deep_linking.accept_response,
        platform.runtime.hub,
        platform.tool_keys,
        gate.urls,
        token,
        now=now_s(),
    )
    ids = " ".join(result.link_ids)
    return HTMLResponse(
        "<!doctype html><html><head><title>Content added</title></head><body>"
        f'<p data-link-ids="{html.escape(ids)}">{len(result.link_ids)} item(s) added.</p>'
        "</body></html>",
        headers=_NO_STORE,
    )
