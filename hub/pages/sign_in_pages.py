"""Sign-in pages for people who do not arrive by SSO or LTI: email and password, a one-time
email link, a password reset, and the signed-in person's own password (set after SSO).

Each form runs the accounts API's own logic (`hub.accounts.routes`): the same limits, audit
and events. A refusal shows the form again with its status and what went wrong
(`role="alert"`, the field marked invalid); a link that cannot be used is an error page.
The emailed sign-in link opens a page that asks to confirm with a POST: an email scanner
that opens the link does not use it up.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from hub.accounts import commands
from hub.accounts.routes import (
    check_password,
    link_sign_in,
    reset_with_link,
    send_link,
    set_own_password,
    signed_in,
)
from hub.http.problems import ProblemError, ProblemType, problem_responses
from hub.pages.web import (
    SessionCookie,
    form_fields,
    page,
    required_session,
    see_other,
)
from hub.spark.sessions import Session

router = APIRouter(tags=["pages"], responses=problem_responses(403, 413, 503))
FORM_INVALID = ProblemType("form-invalid", "Some fields are not filled in right", 422)
PASSWORDS_DIFFER = ProblemType("passwords-differ", "The two passwords are not the same", 422)
TENANT = re.compile(r"^[a-z0-9-]{1,40}$")
EMAIL = re.compile(r"^[^@\s]{1,200}@[^@\s]{1,200}$")
MAX_PASSWORD = 1024
MAX_TOKEN = 300
LANDING = {"parent": "/parent", "guardian": "/parent", "observer": "/observer"}
ASK = {  # the two "email me" forms: what they send and what they say
    "link": (
        commands.send_sign_in_link,
        "Email me a sign-in link",
        "We send a link that signs you in once, within 15 minutes.",
    ),
    "reset": (
        commands.send_password_reset,
        "Reset my password",
        "We send a link to choose a new password, valid for one hour.",
    ),
}


FIELD_OF = {  # the field a refusal of the accounts API concerns
    "sign-in-failed": "password",
    "password-policy": "password",
    "current-password-wrong": "current_password",
}


class FormError(ProblemError):
    """A form's refusal: shown on the form again, with the field it concerns."""

    def __init__(self, kind: ProblemType, detail: str, field: str | None = None) -> None:
        super().__init__(kind, detail)
        self.field = field


async def _form_page(template: str, error: ProblemError, **context: Any) -> HTMLResponse:
    field = error.field if isinstance(error, FormError) else FIELD_OF.get(error.kind.slug)
    return await form_page(template, error, field, **context)


def _landing(role: str) -> str:
    return LANDING.get(role, "/dashboard")


def _tenant_and_email(fields: dict[str, str]) -> tuple[str, str]:
    tenant = fields.get("tenant", "").strip().lower()
    email = fields.get("email", "").strip()
    if not TENANT.match(tenant):
        raise FormError(FORM_INVALID, "enter your school's short name (a-z, 0-9, -)", "tenant")
    if not EMAIL.match(email):
        raise FormError(FORM_INVALID, "enter an email address like name@example.org", "email")
    return tenant, email


def _field(fields: dict[str, str], name: str, limit: int) -> str:
    value = fields.get(name, "")
    if not value or len(value) > limit:
        raise FormError(FORM_INVALID, f"{name.replace('_', ' ')} is missing or too long", name)
    return value


async def form_page(
    template: str, error: ProblemError, field: str | None, **context: Any
) -> HTMLResponse:
    """The form again, with `error`: its status, the field it concerns, its headers
    (`Retry-After`)."""
    answer = await page(
        template, status_code=error.kind.status, error=error, error_field=field, **context
    )
    answer.headers.update(error.headers)
    return answer


@router.get("/sign-in", response_class=HTMLResponse, summary="Sign in with email and password")
async def sign_in_page(request: Request) -> HTMLResponse:
    tenant = request.query_params.get("tenant", "")
    return await page("sign_in.html", tenant=tenant if TENANT.match(tenant) else "", email="")


@router.post(
    "/sign-in",
    response_class=HTMLResponse,
    responses=problem_responses(401, 422, 429),
    summary="The sign-in form: to the person's page, or the form again with what went wrong",
)
async def sign_in_form(request: Request) -> Response:
    fields = await form_fields(request)
    try:
        tenant, email = _tenant_and_email(fields)
        password = _field(fields, "password", MAX_PASSWORD)
        done = await check_password(request, tenant, email, password)
    except ProblemError as error:
        shown = {"tenant": fields.get("tenant", "")[:40], "email": fields.get("email", "")[:320]}
        return await _form_page("sign_in.html", error, **shown)
    return signed_in(request, done, see_other(_landing(done.role)))


@router.get(
    "/sign-in/{what}",
    response_class=HTMLResponse,
    responses=problem_responses(404),
    summary="Email me a link",
)
async def ask_page(request: Request, what: str) -> HTMLResponse:
    if what not in ASK:
        return await page("email_form.html", status_code=404, what="", ask=None, tenant="")
    tenant = request.query_params.get("tenant", "")
    return await page(
        "email_form.html", what=what, ask=ASK[what], tenant=tenant if TENANT.match(tenant) else ""
    )


@router.post(
    "/sign-in/{what}",
    response_class=HTMLResponse,
    responses=problem_responses(404, 422),
    summary="Email me a sign-in link (`link`) or a reset link (`reset`)",
)
async def ask_form(request: Request, what: str) -> HTMLResponse:
    if what not in ASK:
        return await page("email_form.html", status_code=404, what="", ask=None, tenant="")
    fields = await form_fields(request)
    command = ASK[what][0]
    try:
        tenant, email = _tenant_and_email(fields)
    except FormError as error:
        shown = {"tenant": fields.get("tenant", "")[:40], "email": fields.get("email", "")[:320]}
        return await _form_page("email_form.html", error, what=what, ask=ASK[what], **shown)
    await send_link(request, command, tenant, email, "none")
    return await page("link_sent.html", what=what, tenant=tenant)


@router.get(
    "/accounts/sign-in",
    response_class=HTMLResponse,
    summary="The emailed sign-in link: a page that asks to confirm (opening it uses nothing)",
)
async def confirm_link_page(request: Request) -> HTMLResponse:
    token = request.query_params.get("token", "")[:MAX_TOKEN]
    return await page("link_confirm.html", token=token)


@router.post(
    "/accounts/sign-in",
    responses=problem_responses(404, 409, 410, 422),
    summary="Confirm the emailed sign-in link: signs in, then to the person's page",
)
async def confirm_link(request: Request) -> Response:
    fields = await form_fields(request)
    try:
        token = _field(fields, "token", MAX_TOKEN)
        done = await link_sign_in(request, token)
    except ProblemError as error:
        return await _form_page("link_confirm.html", error, token="")
    return signed_in(request, done, see_other(_landing(done.role)))


@router.get("/accounts/reset", response_class=HTMLResponse, summary="The emailed reset link's page")
async def reset_page(request: Request) -> HTMLResponse:
    token = request.query_params.get("token", "")[:MAX_TOKEN]
    return await page("new_password.html", token=token, action="/accounts/reset", session=None)


def _new_password(fields: dict[str, str]) -> str:
    password = _field(fields, "password", MAX_PASSWORD)
    if fields.get("password_again", "") != password:
        raise FormError(PASSWORDS_DIFFER, "type the same new password twice", "password_again")
    return password


@router.post(
    "/accounts/reset",
    responses=problem_responses(404, 409, 410, 422),
    summary="Choose a new password with the reset link: signs in, then to the person's page",
)
async def reset_form(request: Request) -> Response:
    fields = await form_fields(request)
    token = fields.get("token", "")[:MAX_TOKEN]
    try:
        done = await reset_with_link(
            request, _field(fields, "token", MAX_TOKEN), _new_password(fields)
        )
    except ProblemError as error:
        return await _form_page(
            "new_password.html", error, token=token, action="/accounts/reset", session=None
        )
    return signed_in(request, done, see_other(_landing(done.role)))


@router.get(
    "/account/password",
    response_class=HTMLResponse,
    responses=problem_responses(401),
    summary="Set my password (after SSO) or change it",
)
async def password_page(request: Request, cookie: SessionCookie = None) -> HTMLResponse:
    session = required_session(request, cookie)
    saved = request.query_params.get("saved") == "password"
    return await page("new_password.html", session=session, action="/account/password", saved=saved)


@router.post(
    "/account/password",
    responses=problem_responses(401, 422),
    summary="The password form: saved, or the form again with what went wrong",
)
async def password_form(request: Request, cookie: SessionCookie = None) -> Response:
    session: Session = required_session(request, cookie)
    fields = await form_fields(request)
    try:
        password = _new_password(fields)
        current = fields.get("current_password") or None
        if current is not None and len(current) > MAX_PASSWORD:
            raise FormError(FORM_INVALID, "current password is too long", "current_password")
        await set_own_password(request, session, password, current)
    except ProblemError as error:
        return await _form_page(
            "new_password.html", error, session=session, action="/account/password"
        )
    return see_other("/account/password?saved=password")
