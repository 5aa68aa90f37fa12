"""Spark's routes, SSO and signed webhooks: each parses, calls a handler, maps errors to problems.

Every route exists twice: `/t/{tenant}/spark/...`, and `/spark/...` with the tenant in
`?tenant=` or the `X-Hub-Tenant` header (the URLs of Spark's own plan).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, Query, Request, status
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from hub.audit import sha256_hex
from hub.bootstrap import Runtime
from hub.http.lean_route import LeanRoute
from hub.http.problems import problem_responses
from hub.spark import admin, handlers
from hub.spark.evidence import check_files, store_files
from hub.spark.ingress import (
    TENANT_HEADER,
    Gate,
    IngressLimits,
    SparkIngress,
    now_s,
)
from hub.spark.ratelimit import SlidingWindowLimiter
from hub.spark.sessions import COOKIE_NAME, SessionSigner, session_key
from hub.spark.verify import SignalRejectedError, token_key, verify_sso_token
from infra.blobs import FolderBlobStore
from schemas.spark import RosterWebhook, SubmissionWebhook

router = APIRouter(tags=["spark"], route_class=LeanRoute)
TenantQuery = Annotated[str | None, Query(alias="tenant", description="The tenant's slug.")]
TenantHeader = Annotated[str | None, Header(alias=TENANT_HEADER, description="The tenant's slug.")]
TokenQuery = Annotated[str | None, Query(description="The JWT Spark signed (HS256).")]
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_SSO_ERRORS = problem_responses(400, 401, 404, 503)
_WEBHOOK_ERRORS = problem_responses(400, 401, 404, 413, 422, 429, 503)


class SubmissionAccepted(BaseModel):
    submission_id: str
    position: int


class RosterAccepted(BaseModel):
    learner_id: str
    quest_id: str
    action: str
    changed: bool
    position: int | None


def install_spark(
    app: FastAPI, runtime: Runtime, *, limits: IngressLimits | None = None
) -> SparkIngress:
    """Build the ingress's parts on `app.state.spark` and mount its routes."""
    ingress = SparkIngress(
        runtime=runtime,
        signer=SessionSigner(session_key(runtime.settings)),
        blobs=FolderBlobStore(runtime.settings.data_dir / "blobs"),
        limiter=SlidingWindowLimiter(),
        limits=limits or IngressLimits(),
    )
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
    return await _sso(Gate(request, "sso", token=token), tenant)


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
    return await _sso(Gate(request, "sso", token=token), tenant, x_hub_tenant)


async def _sso(gate: Gate, *tenant_names: str | None) -> RedirectResponse:
    connection = await gate.connection(*tenant_names)
    tenant, token = connection.tenant, gate.token
    if not token:
        await gate.reject("token_missing", "add ?token=<the JWT Spark signed>")
    try:
        claims = verify_sso_token(
            token, gate.secrets(connection).sso, now=now_s(), issuer=connection.issuer
        )
    except SignalRejectedError as error:
        await gate.reject(error.reason, error.detail)
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
    return await _submission(Gate(request, "submission"), tenant)


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
    return await _submission(Gate(request, "submission"), tenant, x_hub_tenant)


async def _submission(gate: Gate, *tenant_names: str | None) -> JSONResponse:
    signed = await gate.signed_body(*tenant_names)
    webhook = await gate.parse(SubmissionWebhook, signed.body)
    try:
        checked = check_files(
            webhook.submission_files,
            allowed_hosts=signed.connection.allowed_evidence_hosts,
            max_file_bytes=gate.ingress.limits.max_file_bytes,
        )
    except SignalRejectedError as error:
        await gate.reject(error.reason, error.detail)
    # Every check passed: only now is anything written (blobs, then the one event).
    if any(file.data is not None for file in checked):  # writing blobs blocks: off the loop
        files = await run_in_threadpool(store_files, gate.ingress.blobs, checked)
    else:
        files = store_files(gate.ingress.blobs, checked)
    result = await gate.run_async(
        "hmac-sha256",
        handlers.record_submission_async,
        gate.ingress.runtime.hub,
        signed.tenant,
        webhook,
        files=files,
        verified=gate.verified(signed),
    )
    body = SubmissionAccepted(submission_id=result.submission_id, position=result.position)
    return JSONResponse(body.model_dump(), status_code=202, headers=signed.limit.headers())


@router.post(
    "/t/{tenant}/spark/webhook/roster",
    status_code=202,
    response_model=RosterAccepted,
    responses=_WEBHOOK_ERRORS,
    summary="An enrolment or drop from Spark (tenant in the path)",
)
async def roster_in_path(tenant: str, request: Request) -> JSONResponse:
    return await _roster(Gate(request, "roster"), tenant)


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
    return await _roster(Gate(request, "roster"), tenant, x_hub_tenant)


async def _roster(gate: Gate, *tenant_names: str | None) -> JSONResponse:
    signed = await gate.signed_body(*tenant_names)
    change = await gate.parse(RosterWebhook, signed.body)
    result = await gate.run(
        "hmac-sha256",
        handlers.record_roster_change,
        gate.ingress.runtime.hub,
        signed.tenant,
        change,
    )
    body = RosterAccepted(
        learner_id=result.learner_id,
        quest_id=result.quest_id,
        action=result.action,
        changed=result.changed,
        position=result.position,
    )
    return JSONResponse(body.model_dump(), status_code=202, headers=signed.limit.headers())
