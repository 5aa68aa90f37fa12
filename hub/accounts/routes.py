"""Sign-in without a partner: password, one-time email links, resets, and the signed-in
person's own password. Each route parses, checks limits, calls a command, answers.

A successful sign-in sets the same `hub_session` cookie as the Spark SSO does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from hub.accounts import commands
from hub.accounts import limits as sign_in_limits  # the module: see `_default_limits`
from hub.accounts.errors import SignInFailedError, SignInLimitedError
from hub.accounts.passwords import Passwords
from hub.accounts.problems import ROLE_NOT_ALLOWED, problem_for, run_command
from hub.audit import record_rejection, request_evidence, sha256_hex
from hub.bootstrap import Runtime
from hub.family.api import SessionDep
from hub.http.admin import Slug
from hub.http.middleware import bind_tenant
from hub.http.problems import ProblemError, problem_responses
from hub.spark.ingress import now_s, spark_ingress
from hub.spark.sessions import COOKIE_NAME, Session

router = APIRouter(tags=["accounts"], responses=problem_responses(422, 503))
TAG = {"name": "accounts", "description": "Sign-in by password or email link, resets."}
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
SENT = "if the address has an account, an email is on its way"
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"
    ),
]
Password = Annotated[str, Field(min_length=1, max_length=1024)]
Token = Annotated[str, Field(min_length=1, max_length=300)]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _default_limits() -> sign_in_limits.SignInLimits:
    # Looked up when called: `hub.accounts.limits` imports `hub.http.ratelimit`, so
    # `hub.http` (whose app imports this module) may be importing it right now.
    return sign_in_limits.SignInLimits()


@dataclass
class AccountsApi:
    """The accounts routes' parts, built once per HTTP app (`app.state.accounts`)."""

    runtime: Runtime
    passwords: Passwords = field(default_factory=Passwords)
    limits: sign_in_limits.SignInLimits = field(default_factory=_default_limits)
    clock: Callable[[], datetime] = utc_now

    @property
    def base_url(self) -> str:
        return self.runtime.settings.resolved_public_url


def accounts_api(request: Request) -> AccountsApi:
    api: AccountsApi = request.app.state.accounts
    return api


class PasswordSignIn(BaseModel):
    tenant: Slug
    email: Email
    password: Password


class LinkRequest(BaseModel):
    tenant: Slug
    email: Email


class LinkUse(BaseModel):
    token: Token


class ResetCompletion(BaseModel):
    token: Token
    password: Password


class NewPassword(BaseModel):
    password: Password
    current_password: Password | None = None


class SignedInBody(BaseModel):
    tenant: str
    person_id: str
    role: str
    position: int


class Accepted(BaseModel):
    detail: str = SENT


class Changed(BaseModel):
    position: int


def install_accounts(app: FastAPI, runtime: Runtime) -> AccountsApi:
    """Mount the accounts routes (and their admin routes) on `app`."""
    from hub.accounts.admin import router as admin_router  # noqa: PLC0415
    from hub.accounts.notices import router as notices_router  # noqa: PLC0415
    from hub.quests.routes import install_quests  # noqa: PLC0415

    settings = runtime.settings
    limits = sign_in_limits.SignInLimits(
        per_address=settings.sign_in_per_address_per_minute,
        per_account=settings.sign_in_failures_per_account,
    )
    api = AccountsApi(runtime, limits=limits)
    app.state.accounts = api
    app.state.notifications_reader = None
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(started: FastAPI) -> AsyncIterator[Any]:
        async with inner(started) as state:
            yield state
        reader = started.state.notifications_reader
        if reader is not None:
            reader.close()

    app.router.lifespan_context = lifespan
    app.openapi_tags = [*(app.openapi_tags or []), TAG]
    app.include_router(router)
    app.include_router(admin_router)
    app.include_router(notices_router)
    install_quests(app, runtime)
    return api


def signed_in(request: Request, done: commands.SignedIn, response: Response) -> Response:
    """`response`, with the session cookie of the person `done` signed in."""
    signer = spark_ingress(request).signer
    cookie, _ = signer.issue(
        tenant=done.tenant,
        learner_id=done.person_id,
        role=done.role,
        roles=done.roles,
        position=done.position,
        now=now_s(),
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


def _json_signed_in(request: Request, done: commands.SignedIn) -> Response:
    body = SignedInBody(
        tenant=done.tenant, person_id=done.person_id, role=done.role, position=done.position
    )
    return signed_in(request, done, JSONResponse(body.model_dump(), headers=_NO_STORE))


async def _refuse(
    request: Request, tenant: str, error: Exception, reason: str, email: str
) -> NoReturn:
    """Record the refused sign-in in the audit stream (the address's hash, never the
    password), then answer with its problem."""
    ingress = spark_ingress(request)
    evidence = request_evidence(
        request_id=str(request.state.request_id),
        remote_addr=request.client.host if request.client else None,
        method=request.method,
        path=request.url.path,
        email_sha256=sha256_hex(email.lower()),
    )
    exists = await run_in_threadpool(ingress.runtime.hub.tenant, tenant) is not None
    await record_rejection(
        ingress.nats,
        ingress.runtime.settings.stream_prefix,
        tenant if exists else None,
        "sign-in",
        reason,
        str(error),
        evidence,
    )
    raise problem_for(error) from error


async def send_link(
    request: Request, command: Callable[..., int | None], tenant: str, email: str, by: str
) -> int | None:
    """Run `send_sign_in_link` or `send_password_reset` for `email` of `tenant`."""
    api = accounts_api(request)
    bind_tenant(request, tenant)
    hub, box, now = api.runtime.hub, api.runtime.box, api.clock()
    position: int | None = await run_command(
        request, by, command, hub, box, api.base_url, tenant, email, now=now
    )
    return position


async def link_sign_in(request: Request, token: str) -> commands.SignedIn:
    api = accounts_api(request)
    done: commands.SignedIn = await run_command(
        request,
        "email-link",
        commands.sign_in_with_link,
        api.runtime.hub,
        token.strip(),
        now=api.clock(),
    )
    return done


@router.post(
    "/api/v1/accounts/sign-in",
    response_model=SignedInBody,
    responses=problem_responses(401, 429),
    summary="Sign in with email and password",
)
async def sign_in(body: PasswordSignIn, request: Request) -> Response:
    done = await check_password(request, body.tenant, body.email, body.password)
    return _json_signed_in(request, done)


async def check_password(
    request: Request, tenant: str, email: str, password: str
) -> commands.SignedIn:
    """The person `email` names, if `password` is theirs: limits first, then the hash; a
    refusal is audited (the address's hash only) and raised as its problem."""
    api = accounts_api(request)
    bind_tenant(request, tenant)
    address = request.client.host if request.client else "unknown"
    email = email.lower()
    try:
        api.limits.check(address, tenant, email)
    except SignInLimitedError as error:
        await _refuse(request, tenant, error, "sign_in_limited", email)
    try:
        done: commands.SignedIn = await run_command(
            request,
            "password",
            commands.password_sign_in,
            api.runtime.hub,
            api.passwords,
            tenant,
            email,
            password,
        )
    except ProblemError as problem:
        cause = problem.__cause__
        if not isinstance(cause, SignInFailedError):
            raise
        api.limits.failed(tenant, email)
        await _refuse(request, tenant, cause, "sign_in_failed", email)
    return done


@router.post(
    "/api/v1/accounts/sign-in-links",
    status_code=202,
    response_model=Accepted,
    summary="Email me a one-time sign-in link",
)
async def send_sign_in_link(body: LinkRequest, request: Request) -> Accepted:
    await send_link(request, commands.send_sign_in_link, body.tenant, body.email, "none")
    return Accepted()


@router.post(
    "/api/v1/accounts/sign-in-links/use",
    response_model=SignedInBody,
    responses=problem_responses(404, 409, 410),
    summary="Sign in with a one-time link's token",
)
async def use_sign_in_link(body: LinkUse, request: Request) -> Response:
    return _json_signed_in(request, await link_sign_in(request, body.token))


@router.post(
    "/api/v1/accounts/password-resets",
    status_code=202,
    response_model=Accepted,
    summary="Email me a password reset link",
)
async def send_password_reset(body: LinkRequest, request: Request) -> Accepted:
    await send_link(request, commands.send_password_reset, body.tenant, body.email, "none")
    return Accepted()


@router.post(
    "/api/v1/accounts/password-resets/complete",
    response_model=SignedInBody,
    responses=problem_responses(404, 409, 410),
    summary="Choose a new password with a reset link's token (signs you in)",
)
async def complete_password_reset(body: ResetCompletion, request: Request) -> Response:
    return _json_signed_in(request, await reset_with_link(request, body.token, body.password))


async def reset_with_link(request: Request, token: str, password: str) -> commands.SignedIn:
    """Set a new password with a reset link's token: the person, signed in."""
    api = accounts_api(request)
    done: commands.SignedIn = await run_command(
        request,
        "email-link",
        commands.reset_password,
        api.runtime.hub,
        api.passwords,
        token.strip(),
        password,
        now=api.clock(),
    )
    return done


@router.put(
    "/api/v1/me/password",
    response_model=Changed,
    responses=problem_responses(401, 403),
    summary="Set my password (after SSO), or change it with the current one",
)
async def set_my_password(body: NewPassword, request: Request, session: SessionDep) -> Changed:
    position = await set_own_password(request, session, body.password, body.current_password)
    return Changed(position=position)


async def set_own_password(
    request: Request, session: Session, password: str, current_password: str | None
) -> int:
    """Set the signed-in person's password (after SSO), or change it with the current one."""
    api = accounts_api(request)
    if session.role == "admin":
        raise ProblemError(ROLE_NOT_ALLOWED, "admins sign in with the admin token")
    position: int = await run_command(
        request,
        "session",
        commands.set_password,
        api.runtime.hub,
        api.passwords,
        session.tenant,
        session.learner_id,
        password,
        current_password=current_password,
    )
    return position
