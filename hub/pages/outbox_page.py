"""`/admin/outbox`: the embedded mode's local outbox as a page, so a newcomer can follow an
invitation or sign-in link without a mail server.

The admin gives the tenant and the admin token in a form (POST: the token never sits in a
URL or a cookie); the page lists the tenant's messages, newest first, as the JSON endpoint
(`GET /api/v1/admin/outbox`) does. Links to this hub in a message are shown as links
relative to the page, so they work on whichever address the admin opened it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from hub.accounts.admin import known_tenant
from hub.http.deps import check_admin_token, get_runtime
from hub.http.problems import NOT_FOUND, ProblemError, problem_responses
from hub.pages.sign_in_pages import FORM_INVALID, TENANT, FormError, form_page
from hub.pages.web import form_fields, page
from infra.mail import FolderMailbox

router = APIRouter(tags=["pages"])
URL = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class Part:
    """A piece of a message's body: text, or a link to this hub (`href` relative)."""

    text: str
    href: str | None = None


def parts(body: str, base_url: str) -> list[Part]:
    """The body, its links to `base_url` made relative links; any other URL stays text."""
    found, at = [], 0
    for match in URL.finditer(body):
        url = match.group(0)
        if not url.startswith(base_url + "/"):
            continue
        found += [Part(body[at : match.start()]), Part(url, url[len(base_url) :])]
        at = match.end()
    return [*found, Part(body[at:])]


@router.get("/admin/outbox", response_class=HTMLResponse, summary="The outbox page's sign-in")
async def outbox_sign_in(request: Request) -> HTMLResponse:
    tenant = request.query_params.get("tenant", "")
    return await page("outbox.html", tenant=tenant if TENANT.match(tenant) else "", messages=None)


@router.post(
    "/admin/outbox",
    response_class=HTMLResponse,
    responses=problem_responses(401, 404, 422),
    summary="The embedded mode's outbox for a tenant (the admin token in the form)",
)
async def outbox_page(request: Request) -> HTMLResponse:
    fields = await form_fields(request)
    tenant = fields.get("tenant", "").strip().lower()
    try:
        if not TENANT.match(tenant):
            raise FormError(FORM_INVALID, "enter the tenant's short name (a-z, 0-9, -)", "tenant")
        token = fields.get("token", "")
        check_admin_token(request, token)
        await known_tenant(request, tenant)
    except ProblemError as error:
        field = "tenant" if error.kind is NOT_FOUND else "token"
        if isinstance(error, FormError):
            field = error.field or field
        return await form_page("outbox.html", error, field, tenant=tenant[:40], messages=None)
    settings = get_runtime(request).settings
    mailbox = FolderMailbox(settings.data_dir / "outbox")
    listed: list[dict[str, Any]] = await run_in_threadpool(mailbox.list, tenant)
    base = settings.resolved_public_url
    messages = [{**m, "parts": parts(m["body"], base)} for m in listed]
    smtp = settings.smtp_host is not None
    return await page("outbox.html", tenant=tenant, messages=messages, smtp=smtp)
