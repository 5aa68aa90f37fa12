"""The operations pages' admin session: `/admin/sign-in` takes the admin token in a form and
sets `hub_admin`, a signed HttpOnly SameSite=Strict cookie scoped to `/admin`.

The cookie is signed with a key of its own (derived from the hub's secret key for this
purpose alone, so no learner's or Spark admin's `hub_session` cookie is ever one) and
carries a fingerprint of the admin token it was made with: changing HUB_ADMIN_TOKEN signs
every admin out. A page takes `admin: AdminPage`; without a valid session the browser is
sent (303) to the sign-in page, which brings it back after. Forms that change something
carry the session's CSRF token (`{{ csrf_field(admin) }}` in `ops/base.html`) and are read
with `admin_form(request, admin)`, which also refuses other sites' forms.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Cookie, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from hub.bootstrap import Runtime
from hub.http.problems import UNAUTHORIZED, ProblemType, problem_responses
from hub.http.ratelimit import SlidingWindowLimiter
from hub.ops.web import ops_page
from hub.pages.web import PageError, form_fields, see_other
from hub.spark.sessions import SessionInvalidError, SessionSigner, session_key

COOKIE = "hub_admin"
COOKIE_PATH = "/admin"
LIFETIME_S = 8 * 3600
HOME = "/admin/ops"
_PURPOSE = b"hub.ops.admin-session.v1"
_ROLE = "hub-admin"
_NEXT = re.compile(r"^/admin/[A-Za-z0-9/_.~%?=&-]{0,300}$")
CSRF_REFUSED = ProblemType("csrf-refused", "The form's CSRF token is missing or wrong", 403)
ADMIN_TOKEN_WRONG = ProblemType("admin-token-wrong", "The admin token is wrong", 401)
TOO_MANY_SIGN_INS = ProblemType("too-many-sign-ins", "Too many sign-in attempts", 429)
SIGN_INS_PER_MINUTE = 20
"""Sign-in attempts per client address and minute (in this process): guessing is slow."""

router = APIRouter(tags=["pages"])


@dataclass(frozen=True)
class AdminSession:
    """A signed-in admin: until when, and the token its forms carry against CSRF."""

    issued_at: int
    expires_at: int
    csrf: str


class SignInRequiredError(Exception):
    """No valid admin session: answered with a 303 to the sign-in page."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class AdminSessions:
    """Issues and reads `hub_admin` cookies with the ops key."""

    def __init__(self, key: bytes, *, lifetime_s: int = LIFETIME_S) -> None:
        self._key = hmac.new(key, _PURPOSE, hashlib.sha256).digest()
        self._signer = SessionSigner(self._key, lifetime_s=lifetime_s)

    def _fingerprint(self, admin_token: str) -> str:
        return _b64(hmac.new(self._key, b"token:" + admin_token.encode(), "sha256").digest())

    def _csrf(self, cookie: str) -> str:
        return _b64(hmac.new(self._key, b"csrf:" + cookie.encode(), "sha256").digest())

    def issue(self, admin_token: str, *, now: int) -> str:
        cookie, _ = self._signer.issue(
            tenant="*", learner_id=self._fingerprint(admin_token), role=_ROLE, position=0, now=now
        )
        return cookie

    def read(self, cookie: str | None, admin_token: str | None, *, now: int) -> AdminSession:
        """The session of `cookie` if it is valid now and was made with `admin_token`."""
        session = self._signer.read(cookie, now=now)
        assert cookie is not None  # read() refused None
        fingerprint = self._fingerprint(admin_token or "")
        if session.role != _ROLE or not admin_token or session.learner_id != fingerprint:
            msg = "the admin token changed: sign in again"
            raise SessionInvalidError(msg)
        return AdminSession(session.issued_at, session.expires_at, self._csrf(cookie))

    @property
    def lifetime_s(self) -> int:
        return self._signer.lifetime_s


def sessions_of(request: Request) -> AdminSessions:
    sessions: AdminSessions = request.app.state.ops_sessions
    return sessions


def _back_to(request: Request) -> str:
    path = request.url.path
    if request.method == "GET" and request.url.query:
        path += "?" + request.url.query
    return path if _NEXT.match(path) else HOME


def require_admin_page(
    request: Request, cookie: Annotated[str | None, Cookie(alias=COOKIE)] = None
) -> AdminSession:
    """The admin's session, or `SignInRequiredError` (a 303 to `/admin/sign-in?next=...`)."""
    try:
        return sessions_of(request).read(
            cookie, request.app.state.admin_token, now=int(time.time())
        )
    except SessionInvalidError as error:
        raise SignInRequiredError(_back_to(request)) from error


AdminPage = Annotated[AdminSession, Depends(require_admin_page)]


async def admin_form(request: Request, admin: AdminSession) -> dict[str, str]:
    """A form's fields from an admin page: this hub's own form, with the session's CSRF token."""
    fields = await form_fields(request)
    if not hmac.compare_digest(fields.get("csrf", "").encode(), admin.csrf.encode()):
        raise PageError(CSRF_REFUSED, "reload the page and send the form again")
    return fields


async def _to_sign_in(_: Request, error: Exception) -> Response:
    assert isinstance(error, SignInRequiredError)
    return see_other(f"/admin/sign-in?next={quote(error.back_to, safe='/')}")


def _next_of(text: str) -> str:
    return text if _NEXT.match(text) else HOME


@router.get("/admin/sign-in", response_class=HTMLResponse, summary="The admin pages' sign-in")
async def sign_in_page(request: Request) -> HTMLResponse:
    back = _next_of(request.query_params.get("next", HOME))
    return await ops_page("ops/sign_in.html", next=back, admin=None)


@router.post(
    "/admin/sign-in",
    response_class=HTMLResponse,
    responses={
        303: {"description": "Signed in: to the page asked for"},
        **problem_responses(401, 403, 413, 429),
    },
    summary="Sign in to the admin pages with the admin token (sets the `hub_admin` cookie)",
)
async def sign_in(request: Request) -> Response:
    fields = await form_fields(request)
    back = _next_of(fields.get("next", HOME))
    address = request.client.host if request.client else "-"
    decision = request.app.state.ops_sign_ins.hit(("admin-sign-in", address), SIGN_INS_PER_MINUTE)
    if not decision.allowed:
        error = PageError(TOO_MANY_SIGN_INS, f"try again in {decision.retry_after_s} s")
        answer = await ops_page(
            "ops/sign_in.html", status_code=429, next=back, admin=None, error=error
        )
        answer.headers.update(decision.headers())
        return answer
    expected: str | None = request.app.state.admin_token
    token = fields.get("token", "")
    if expected is None or not hmac.compare_digest(token.encode(), expected.encode()):
        if expected is None:
            error = PageError(UNAUTHORIZED, "the admin pages are disabled: set HUB_ADMIN_TOKEN")
        else:
            error = PageError(ADMIN_TOKEN_WRONG, "check HUB_ADMIN_TOKEN")
        return await ops_page(
            "ops/sign_in.html", status_code=401, next=back, admin=None, error=error
        )
    sessions = sessions_of(request)
    response = see_other(back)
    response.set_cookie(
        COOKIE,
        sessions.issue(expected, now=int(time.time())),
        max_age=sessions.lifetime_s,
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="strict",
    )
    return response


@router.post(
    "/admin/sign-out",
    responses={303: {"description": "Signed out: to the sign-in page"}, **problem_responses(403)},
    summary="Sign out of the admin pages",
)
async def sign_out(request: Request, admin: AdminPage) -> Response:
    await admin_form(request, admin)
    response = see_other("/admin/sign-in")
    response.delete_cookie(COOKIE, path=COOKIE_PATH, secure=True, httponly=True, samesite="strict")
    return response


def install_session(app: FastAPI, runtime: Runtime) -> None:
    app.state.ops_sessions = AdminSessions(session_key(runtime.settings))
    app.state.ops_sign_ins = SlidingWindowLimiter()
    app.add_exception_handler(SignInRequiredError, _to_sign_in)
    app.include_router(router)
