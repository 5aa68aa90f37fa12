"""What every page shares: templates, headers, the session, and errors as pages or problems.

A page's error is a `PageError`: a browser (that asks for `text/html`) gets a page with
the status, the title and what to do; any other client gets the RFC 9457 problem.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Cookie, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from hub.http.problems import (
    SESSION_REQUIRED,
    ProblemError,
    ProblemType,
    problem_response,
)
from hub.pages.portfolio_page import SOURCES
from hub.spark.ingress import now_s
from hub.spark.sessions import COOKIE_NAME, Session, SessionInvalidError, SessionSigner

HERE = Path(__file__).parent
HTML_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on the
    # pages' own forms, and the origin check could not tell them from another site's.
    "Referrer-Policy": "same-origin",
}

FORBIDDEN = ProblemType("forbidden", "You may not see this", 403)
PORTFOLIO_NOT_FOUND = ProblemType("portfolio-not-found", "No such portfolio", 404)
EVIDENCE_NOT_FOUND = ProblemType("evidence-not-found", "No such evidence file", 404)
SLUG_TAKEN = ProblemType("slug-taken", "The slug is taken", 409)
SHOWCASE_INVALID = ProblemType("showcase-invalid", "The slug or the visibility is not valid", 422)
AS_OF_INVALID = ProblemType("as-of-invalid", "The as_of date is not valid", 422)
CROSS_SITE_FORM = ProblemType("cross-site-form", "The form came from another site", 403)
TENANT_REQUIRED = ProblemType("tenant-required", "No tenant was named", 400)
FORM_TOO_LARGE = ProblemType("form-too-large", "The form is too large", 413)
MAX_FORM_BYTES = 32_768

SessionCookie = Annotated[str | None, Cookie(alias=COOKIE_NAME)]


class PageError(ProblemError):
    """Raised by a page: an HTML error page for browsers, a problem for everyone else."""


@cache
def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True),
        auto_reload=False,
    )
    env.globals["sources"] = SOURCES
    env.filters["when"] = when
    return env


def when(text: object) -> str:
    """An ISO 8601 instant as people read it (`2025-01-15 14:30 UTC`); other text as is."""
    try:
        instant = datetime.fromisoformat(str(text))
    except ValueError:
        return str(text or "")
    if instant.tzinfo is None:
        return instant.strftime("%Y-%m-%d %H:%M")
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def render(template: str, **context: Any) -> str:
    return templates().get_template(template).render(**context)


async def page(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = await run_in_threadpool(render, template, **context)
    return HTMLResponse(html, status_code=status_code, headers=HTML_HEADERS)


def see_other(location: str) -> RedirectResponse:
    """The 303 after a form's change (never cached)."""
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


def check_same_origin(request: Request) -> None:
    """Refuse a state change a page of another site sent: browsers say so in `Origin` and
    `Sec-Fetch-Site` (clients that are not browsers send neither)."""
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    site = request.headers.get("sec-fetch-site", "same-origin")
    if (origin is not None and origin != own) or site not in {"same-origin", "none"}:
        raise PageError(CROSS_SITE_FORM, f"this hub accepts its own forms only, not {origin}'s")


async def form_fields(request: Request) -> dict[str, str]:
    """A form's fields (url-encoded; the first value of each), from this hub's own pages
    only, refused past `MAX_FORM_BYTES`."""
    check_same_origin(request)
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise PageError(FORM_TOO_LARGE, f"a form has at most {MAX_FORM_BYTES} bytes")
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items()}


def signer_of(request: Request) -> SessionSigner:
    signer: SessionSigner = request.app.state.page_signer
    return signer


def optional_session(request: Request, cookie: str | None) -> Session | None:
    """The session of a valid cookie; None without one (a bad one is refused)."""
    if cookie is None:
        return None
    return required_session(request, cookie)


def required_session(request: Request, cookie: str | None) -> Session:
    try:
        return signer_of(request).read(cookie, now=now_s())
    except SessionInvalidError as error:
        raise PageError(SESSION_REQUIRED, str(error)) from error


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def _on_page_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, PageError)
    if not _wants_html(request):
        return problem_response(
            error.kind, error.detail, instance=request.url.path, headers=error.headers
        )
    return await page(
        "error.html",
        status_code=error.kind.status,
        kind=error.kind,
        detail=error.detail,
        signed_in=COOKIE_NAME in request.cookies,
    )


def install_page_errors(app: FastAPI) -> None:
    app.add_exception_handler(PageError, _on_page_error)
