"""The hub as an LTI 1.3 tool: OIDC login initiation and the launch, validated in seed order.

GET|POST /api/lti/tool/login?tenant=T   (or /t/{tenant}/api/lti/tool/login)
    -> 302 to the platform's authorization endpoint; state and nonce kept in the log
POST /api/lti/tool/launch               id_token + state (the state names the tenant)
    -> resource link: session cookie (SameSite=None; Secure) and 303 to the dashboard
    -> deep linking: the picker page (`hub.lti.tool.deep_linking`)
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Header, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from hub.application import Hub
from hub.bootstrap import Runtime
from hub.domain.base import TENANT_SLUG
from hub.domain.lti_tool import PlatformRegistration
from hub.http.problems import problem_responses
from hub.lti.keys import install_lti_keys
from hub.lti.tool import admin, deep_linking
from hub.lti.tool.catalogue import Catalogue, log_catalogue
from hub.lti.tool.gate import Gate, LtiTool
from hub.lti.tool.jwks import JwksCache
from hub.lti.tool.launches import (
    LaunchResult,
    StateReplayedError,
    accept_launch,
    load_launch,
    start_login,
    tenant_of_state,
)
from hub.lti.tool.registrations import registrations_for
from hub.lti.tool.verify import (
    LaunchRejectedError,
    check_audience,
    check_deployment,
    check_header,
    check_login,
    check_times,
    parse_claims,
    peek,
    verify_signature,
)
from hub.spark.sessions import COOKIE_NAME, SessionSigner, session_key
from schemas.lti_tool import DEEP_LINKING_REQUEST, LaunchClaims, LoginInitiation

router = APIRouter(tags=["lti"])
LTI_TAG = {"name": "lti", "description": "LTI 1.3: launches, deep linking, keys, services."}
TENANT_HEADER = "X-Hub-Tenant"
LAUNCH_PATH = "/api/lti/tool/launch"
MAX_FORM_BYTES = 64 * 1024
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
TenantQuery = Annotated[str | None, Query(alias="tenant", description="The tenant's slug.")]
TenantHeader = Annotated[str | None, Header(alias=TENANT_HEADER, description="The tenant's slug.")]


def install_lti_tool(
    app: FastAPI,
    runtime: Runtime,
    *,
    jwks: JwksCache | None = None,
    catalogue: Catalogue | None = None,
) -> LtiTool:
    """Build the tool's parts on `app.state.lti_tool` and mount its routes."""
    key = session_key(runtime.settings)
    tool = LtiTool(
        runtime=runtime,
        signer=SessionSigner(key),
        ticket_key=hmac.new(key, b"hub.lti.deep-link-ticket.v1", hashlib.sha256).digest(),
        keys=install_lti_keys(app, runtime),
        jwks=jwks or JwksCache(),
        catalogue=catalogue or log_catalogue(runtime.hub),
    )
    app.state.lti_tool = tool
    if not any(tag["name"] == "lti" for tag in app.openapi_tags or []):
        app.openapi_tags = [*(app.openapi_tags or []), LTI_TAG]
    app.include_router(router)
    app.include_router(deep_linking.router)
    app.include_router(admin.router)
    return tool


def now_s() -> int:
    return int(time.time())


def base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


# -- login ---------------------------------------------------------------------------------


_LOGIN_ERRORS = problem_responses(400, 404, 503)


@router.get("/api/lti/tool/login", status_code=302, responses=_LOGIN_ERRORS)
@router.post(
    "/api/lti/tool/login",
    status_code=302,
    responses=_LOGIN_ERRORS,
    summary="OIDC third-party login initiation (tenant in ?tenant= or X-Hub-Tenant)",
)
async def login(
    request: Request, tenant: TenantQuery = None, x_hub_tenant: TenantHeader = None
) -> RedirectResponse:
    return await _login(Gate(request, "lti-login"), tenant or x_hub_tenant)


@router.get("/t/{tenant}/api/lti/tool/login", status_code=302, responses=_LOGIN_ERRORS)
@router.post(
    "/t/{tenant}/api/lti/tool/login",
    status_code=302,
    responses=_LOGIN_ERRORS,
    summary="OIDC third-party login initiation (tenant in the path)",
)
async def login_in_path(tenant: str, request: Request) -> RedirectResponse:
    return await _login(Gate(request, "lti-login"), tenant)


async def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
    params.pop("tenant", None)
    return params


async def _login(gate: Gate, tenant: str | None) -> RedirectResponse:
    if not tenant:
        await gate.reject(
            "tenant_missing", "name the tenant: ?tenant=, X-Hub-Tenant or /t/{tenant}/..."
        )
    if not TENANT_SLUG.match(tenant):
        await gate.reject("unknown_tenant", "no such tenant")
    try:
        given = LoginInitiation.model_validate(await _params(gate.request))
    except ValidationError as error:
        fields = ", ".join(str(e["loc"][0]) for e in error.errors() if e["loc"])
        await gate.reject("login_invalid", f"missing or invalid parameters: {fields}")
    gate.seen = {"iss": given.iss[:200], "client_id": (given.client_id or "")[:200]}
    if not given.client_id:
        await gate.reject("login_invalid", "client_id is required to find the registration")
    registration = await _registration(gate, tenant, given.iss, given.client_id)
    if registration is None:
        await gate.reject(
            "platform_unknown", "no platform with this iss and client_id is registered"
        )
    await gate.limit(tenant, "login", registration.client_id)
    deployment = given.lti_deployment_id or given.deployment_id
    if deployment is not None and deployment not in registration.deployment_ids:
        await gate.reject("deployment_unknown", "lti_deployment_id is not registered")
    made = await gate.run(start_login, gate.tool.runtime.hub, registration, given, now=now_s())
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": registration.client_id,
        "redirect_uri": base_url(gate.request) + LAUNCH_PATH,
        "login_hint": given.login_hint,
        "state": made.state,
        "nonce": made.nonce,
    }
    if given.lti_message_hint is not None:
        query["lti_message_hint"] = given.lti_message_hint
    joiner = "&" if "?" in registration.auth_login_url else "?"
    return RedirectResponse(
        registration.auth_login_url + joiner + urlencode(query),
        status_code=status.HTTP_302_FOUND,
        headers=_NO_STORE,
    )


async def _registration(
    gate: Gate, tenant: str, issuer: str, client_id: str
) -> PlatformRegistration | None:
    hub = gate.tool.runtime.hub
    cache = registrations_for(hub)
    key = (tenant, issuer, client_id)
    hit, found = cache.cached(key)
    if not hit:
        found = await run_in_threadpool(cache.get, hub, key)
    if found is not None:
        gate.known_tenant(tenant)
    return found


# -- launch --------------------------------------------------------------------------------


@router.post(
    LAUNCH_PATH,
    status_code=303,
    response_class=Response,
    responses=problem_responses(400, 401, 422, 502, 503),
    summary="The platform's launch: id_token and state, posted by the browser",
)
async def launch(request: Request) -> Response:
    gate = Gate(request, "lti-launch")
    token, state = await _launch_form(gate)
    verified, registration, claims = await _validate(gate, token, state)
    hub = gate.tool.runtime.hub
    try:
        result, parsed = await gate.run(_consume, hub, registration, state, claims, verified)
    except LaunchRejectedError as error:
        await gate.refuse(error)
    except StateReplayedError:
        await gate.reject("state_replayed", "this login's state was already used")
    if parsed.message_type == DEEP_LINKING_REQUEST:
        page = await deep_linking.picker_page(gate, result, parsed)
        return _signed_in(gate, result, page)
    target = "/dashboard"
    if result.quest_id:
        target += "?" + urlencode({"quest": result.quest_id, "lti": "1"})
    redirect = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER, headers=_NO_STORE)
    return _signed_in(gate, result, redirect)


def _consume(
    hub: Hub,
    registration: PlatformRegistration,
    state: str,
    claims: dict[str, Any],
    verified: dict[str, Any],
) -> tuple[LaunchResult, LaunchClaims]:
    """Seed 003 §5.2.2 steps 4 to 7, in one trip off the event loop: the login's state and
    nonce, the LTI claims, and the launch recorded (its commit is the single use)."""
    stored = load_launch(hub, registration.tenant, state)
    check_login(stored, registration, claims, now_s())
    assert stored is not None
    parsed = parse_claims(claims)
    return accept_launch(hub, stored, registration, parsed, verified), parsed


async def _launch_form(gate: Gate) -> tuple[str, str]:
    declared = gate.request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        await gate.reject("form_invalid", f"the form is larger than {MAX_FORM_BYTES} bytes")
    form = await gate.request.form()
    token, state = form.get("id_token"), form.get("state")
    if not isinstance(token, str) or not token or not isinstance(state, str) or not state:
        await gate.reject("form_invalid", "post the id_token and state form fields")
    gate.token = token
    gate.seen = {"state_sha256": hashlib.sha256(state.encode()).hexdigest()}
    return token, state


async def _validate(
    gate: Gate, token: str, state: str
) -> tuple[dict[str, Any], PlatformRegistration, dict[str, Any]]:
    """Seed 003 §5.2.2 steps 1 to 3: header, registration, key, signature, times."""
    try:
        header, claims = peek(token)
        kid = check_header(header)
    except LaunchRejectedError as error:
        await gate.refuse(error)
    tenant = tenant_of_state(state)
    issuer = claims.get("iss")
    aud = claims.get("aud")
    candidates = (
        [claims.get("azp")] if claims.get("azp") else aud if isinstance(aud, list) else [aud]
    )
    registration = None
    if TENANT_SLUG.match(tenant) and isinstance(issuer, str):
        for client_id in candidates:
            if isinstance(client_id, str):
                registration = await _registration(gate, tenant, issuer, client_id)
                if registration is not None:
                    break
    gate.seen |= {"iss": str(issuer)[:200], "kid": kid[:200]}
    if registration is None:
        await gate.reject(
            "platform_unknown", "no platform with this iss and aud is registered for the tenant"
        )
    await gate.limit(registration.tenant, "launch", registration.client_id)
    jwks = gate.tool.jwks
    try:
        check_audience(claims, registration)
        check_deployment(claims, registration)
        key = jwks.cached(registration.jwks_url, kid)
        if key is None:
            key = await run_in_threadpool(
                jwks.key, registration.jwks_url, kid, registration.allowed_hosts
            )
        verify_signature(token, key)
        check_times(claims, now_s())
    except LaunchRejectedError as error:
        await gate.refuse(error)
    verified = {
        "alg": "RS256",
        "kid": kid,
        "jwks_url": registration.jwks_url,
        "registration_id": registration.id,
        "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
        "request_id": str(gate.request.state.request_id),
    }
    return verified, registration, claims


def _signed_in(gate: Gate, result: LaunchResult, response: Response) -> Response:
    """The session cookie, usable inside the platform's iframe (SameSite=None; Secure)."""
    signer: SessionSigner = gate.tool.signer
    tenant = gate.tenant
    assert tenant is not None
    cookie, _ = signer.issue(
        tenant=tenant,
        learner_id=result.learner_id,
        role=result.role,
        position=result.position,
        now=now_s(),
    )
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        max_age=signer.lifetime_s,
        path="/",
        secure=True,
        httponly=True,
        samesite="none",
    )
    return response
