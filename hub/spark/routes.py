"""Spark's routes, SSO and signed webhooks: each parses, calls a handler, maps errors to problems.

Every route exists twice: `/t/{tenant}/spark/...`, and `/spark/...` with the tenant in
`?tenant=` or the `X-Hub-Tenant` header (the URLs of Spark's own plan).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Request, status
from fastapi.responses import JSONResponse, RedirectResponse

from hub.audit import sha256_hex
from hub.bootstrap import Runtime
from hub.http.lean_route import LeanRoute
from hub.http.problems import problem_responses
from hub.spark import admin, handlers
from hub.spark.ingress import (
    TENANT_HEADER,
    Gate,
    IngressLimits,
    SparkIngress,
    build_ingress,
    now_s,
)
from hub.spark.sessions import COOKIE_NAME
from hub.spark.signals import (
    Accepted,
    RosterAccepted,
    SubmissionAccepted,
    accept_roster,
    accept_submission,
)
from hub.spark.verify import (
    SignalRejectedError,
    signed_with_retired,
    token_key,
    verify_sso_token,
)

router = APIRouter(tags=["spark"], route_class=LeanRoute)
TenantQuery = Annotated[str | None, Query(alias="tenant", description="The tenant's slug.")]
TenantHeader = Annotated[str | None, Header(alias=TENANT_HEADER, description="The tenant's slug.")]
TokenQuery = Annotated[str | None, Query(description="The JWT Spark signed (HS256).")]
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_SSO_ERRORS = problem_responses(400, 401, 404, 503)
_WEBHOOK_ERRORS = problem_responses(400, 401, 404, 413, 422, 429, 503)


def install_spark(
    app: FastAPI, runtime: Runtime, *, limits: IngressLimits | None = None
) -> SparkIngress:
    """Build the ingress's parts on `app.state.spark` and mount its routes."""
    ingress = build_ingress(runtime, limits=limits)
    app.state.spark = ingress
    app.include_router(router)
    app.include_router(admin.router)
    return ingress


# -- SSO -----------------------------------------------------------------------------------


@router.get(
    "/t/{tenant}/spark/sso",
    status_code=303,
    responses=_SSO_ERRORS,
    summary="Sign in from Spark (tenant in the path)",
)
async def sso_in_path(tenant: str, request: Request, token: TokenQuery = None) -> RedirectResponse:
    return await _sso(Gate.of(request, "sso", token=token), tenant)


@router.get(
    "/spark/sso",
    status_code=303,
    responses=_SSO_ERRORS,
    summary="Sign in from Spark (tenant in ?tenant= or X-Hub-Tenant)",
)
async def sso(
    request: Request,
    token: TokenQuery = None,
    tenant: TenantQuery = None,
    x_hub_tenant: TenantHeader = None,
) -> RedirectResponse:
    return await _sso(Gate.of(request, "sso", token=token), tenant, x_hub_tenant)


async def _sso(gate: Gate, *tenant_names: str | None) -> RedirectResponse:
    connection = await gate.connection(*tenant_names)
    tenant, token = connection.tenant, gate.token
    if not token:
        await gate.reject("token_missing", "add ?token=<the JWT Spark signed>")
    opened, now = gate.secrets(connection), now_s()
    try:
        claims = verify_sso_token(token, opened.sso, now=now, issuer=connection.issuer)
    except SignalRejectedError as error:
        retired = signed_with_retired(
            error,
            lambda: verify_sso_token(token, opened.expired_sso, now=now, issuer=connection.issuer),
        )
        await gate.reject_signature(error, retired)
    hub = gate.ingress.runtime.hub
    try:
        result = await gate.run(
            "jwt-hs256",
            handlers.sign_in,
            hub,
            tenant,
            claims,
            token_key=token_key(token, claims),
            token_sha256=sha256_hex(token),
        )
    except handlers.TokenReplayedError:
        await gate.reject(
            "token_replayed",
            "this token was already used to sign in; open the link from Spark again",
        )
    signer = gate.ingress.signer
    cookie, _ = signer.issue(
        tenant=tenant,
        learner_id=result.learner_id,
        role=claims.role,
        roles=result.roles,
        position=result.position,
        now=now_s(),
    )
    response = RedirectResponse(
        "/dashboard", status_code=status.HTTP_303_SEE_OTHER, headers=_NO_STORE
    )
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        max_age=signer.lifetime_s,
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )
    return response


# -- webhooks ------------------------------------------------------------------------------


@router.post(
    "/t/{tenant}/spark/webhook/submission",
    status_code=202,
    response_model=SubmissionAccepted,
    responses=_WEBHOOK_ERRORS,
    summary="A submission from Spark (tenant in the path)",
)
async def submission_in_path(tenant: str, request: Request) -> JSONResponse:
    return await _submission(Gate.of(request, "submission"), tenant)


@router.post(
    "/spark/webhook/submission",
    status_code=202,
    response_model=SubmissionAccepted,
    responses=_WEBHOOK_ERRORS,
    summary="A submission from Spark (tenant in ?tenant= or X-Hub-Tenant)",
)
async def submission(
    request: Request, tenant: TenantQuery = None, x_hub_tenant: TenantHeader = None
) -> JSONResponse:
    return await _submission(Gate.of(request, "submission"), tenant, x_hub_tenant)


async def _submission(gate: Gate, *tenant_names: str | None) -> JSONResponse:
    accepted = await accept_submission(gate, *tenant_names)
    return _accepted(accepted)


@router.post(
    "/t/{tenant}/spark/webhook/roster",
    status_code=202,
    response_model=RosterAccepted,
    responses=_WEBHOOK_ERRORS,
    summary="An enrolment or drop from Spark (tenant in the path)",
)
async def roster_in_path(tenant: str, request: Request) -> JSONResponse:
    return await _roster(Gate.of(request, "roster"), tenant)


@router.post(
    "/spark/webhook/roster",
    status_code=202,
    response_model=RosterAccepted,
    responses=_WEBHOOK_ERRORS,
    summary="An enrolment or drop from Spark (tenant in ?tenant= or X-Hub-Tenant)",
)
async def roster(
    request: Request, tenant: TenantQuery = None, x_hub_tenant: TenantHeader = None
) -> JSONResponse:
    return await _roster(Gate.of(request, "roster"), tenant, x_hub_tenant)


async def _roster(gate: Gate, *tenant_names: str | None) -> JSONResponse:
    return _accepted(await accept_roster(gate, *tenant_names))


def _accepted(accepted: Accepted[Any]) -> JSONResponse:
    return JSONResponse(
        accepted.body.model_dump(), status_code=202, headers=accepted.limit.headers()
    )
