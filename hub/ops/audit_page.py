"""`/admin/ops/audit`: the audit log page, every verdict with filters (a GET form), a page of
results and a link to the next; it reads the `audit` read model as the admin API does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from hub.http.audit_api import find_verdicts
from hub.ops.session import AdminPage
from hub.ops.web import ops_page
from schemas.audit import AuditQuery, AuditResults

PATH = "/admin/ops/audit"
TIMES = ("since", "until")
PAGE_LIMIT = 50
router = APIRouter(tags=["pages"])
Text = Annotated[str, Field(max_length=400)]


class AuditForm(BaseModel):
    """The filter form's fields as the browser sends them: text, empty when not filled."""

    model_config = ConfigDict(extra="ignore")

    tenant: Text = ""
    source: Text = ""
    verdict: Text = ""
    reason: Text = ""
    event_type: Text = ""
    since: Text = ""
    until: Text = ""
    limit: Text = ""
    cursor: Text = ""


def _as_utc(text: str) -> str:
    """A time the form's `datetime-local` field sends (no zone) is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text  # AuditQuery says what is wrong with it
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).isoformat()


def audit_query(fields: dict[str, str], cursor: str) -> AuditQuery:
    """The form's filled fields as a query; `ValidationError` says which are wrong."""
    given: dict[str, Any] = {name: value for name, value in fields.items() if value}
    for name in TIMES:
        if name in given:
            given[name] = _as_utc(given[name])
    given.setdefault("limit", PAGE_LIMIT)
    if cursor:
        given["cursor"] = cursor
    return AuditQuery.model_validate(given)


def _problems(error: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(part) for part in item['loc']) or 'filters'}: {item['msg']}"
        for item in error.errors()
    ]


@router.get(
    PATH,
    response_class=HTMLResponse,
    responses={
        303: {"description": "No admin session: to the sign-in page"},
        422: {
            "description": "A filter is wrong: the page says which",
            "content": {"text/html": {}},
        },
    },
    summary="The audit log: accepted and rejected signals, admin actions",
)
async def audit_page(
    request: Request, admin: AdminPage, form: Annotated[AuditForm, Query()]
) -> HTMLResponse:
    fields = form.model_dump(exclude={"cursor"})
    cursor = form.cursor
    context: dict[str, Any] = {"admin": admin, "current": PATH, "fields": fields}
    try:
        query = audit_query(fields, cursor)
    except ValidationError as error:
        return await ops_page("ops/audit.html", 422, problems=_problems(error), **context)
    results: AuditResults = await run_in_threadpool(find_verdicts, request.app.state.runtime, query)
    return await ops_page(
        "ops/audit.html",
        results=results,
        next_url=None if results.next_cursor is None else _url(fields, results.next_cursor),
        first_url=_url(fields) if cursor else None,
        **context,
    )


def _url(fields: dict[str, str], cursor: str = "") -> str:
    """This page with the filled filters (and a cursor)."""
    kept = {name: value for name, value in fields.items() if value}
    if cursor:
        kept["cursor"] = cursor
    return f"{PATH}?{urlencode(kept)}"
