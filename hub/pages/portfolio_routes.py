"""Portfolio pages: the learner's own, a linked learner's, and the showcase at `/portfolio/<slug>`.

Each takes `?as_of=2025-01-15` (or a date and time) and then shows the portfolio as it
stood then, replayed from the log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from hub.bootstrap import Runtime
from hub.caliper.activity import PORTFOLIO
from hub.domain.base import TENANT_SLUG
from hub.http.deps import RuntimeDep
from hub.http.problems import problem_responses
from hub.pages.access import decide, decide_showcase, refusal
from hub.pages.commands import showcase_by_slug
from hub.pages.portfolio_page import AsOfInvalidError, PortfolioPage, parse_as_of, portfolio_page
from hub.pages.readers import Access, PageReaders, page_readers
from hub.pages.views import record_after
from hub.pages.web import (
    AS_OF_INVALID,
    HTML_HEADERS,
    PORTFOLIO_NOT_FOUND,
    TENANT_REQUIRED,
    PageError,
    SessionCookie,
    optional_session,
    render,
    required_session,
)
from hub.spark.sessions import Session

router = APIRouter(tags=["pages"])
AsOf = Annotated[
    str | None,
    Query(description="Show the portfolio as it stood then: 2025-01-15, or an ISO date and time."),
]
_ERRORS = problem_responses(400, 401, 403, 404, 422)


def load_page(
    readers: PageReaders, learner_id: str, access: Access, as_of: str | None, slug: str = ""
) -> PortfolioPage:
    """The page of `learner_id`'s portfolio, now or as of a date (checked first)."""
    tenant = learner_id.split(".", 1)[0]
    if as_of is None:
        found = None if readers.portfolio is None else readers.portfolio(tenant, learner_id)
    else:
        try:
            until = parse_as_of(as_of)
        except AsOfInvalidError as error:
            raise PageError(AS_OF_INVALID, str(error)) from error
        if readers.portfolio_as_of is None:
            raise PageError(AS_OF_INVALID, "this hub does not replay portfolios")
        found = readers.portfolio_as_of(tenant, learner_id, until)
    return portfolio_page(
        found,
        learner_id=learner_id,
        show_evidence=access.can_view_evidence,
        as_of=as_of,
        slug=slug,
    )


@router.get("/portfolio", response_class=HTMLResponse, responses=_ERRORS)
async def own_portfolio(
    request: Request, cookie: SessionCookie = None, as_of: AsOf = None
) -> HTMLResponse:
    """The signed-in learner's portfolio."""
    session = required_session(request, cookie)
    return await _show(request, session, session.person_id, as_of)


@router.get("/learners/{learner_id}/portfolio", response_class=HTMLResponse, responses=_ERRORS)
async def learner_portfolio(
    learner_id: str,
    request: Request,
    cookie: SessionCookie = None,
    as_of: AsOf = None,
) -> HTMLResponse:
    """A linked learner's portfolio, for their parents and observers (403 for anyone else)."""
    session = required_session(request, cookie)
    return await _show(request, session, learner_id, as_of)


def _linked_page(readers: PageReaders, session: Session, learner_id: str, as_of: str | None) -> str:
    access = decide(readers, session, learner_id)
    if not access.can_view:
        raise refusal(access)
    shown = load_page(readers, learner_id, access, as_of)
    return render("portfolio.html", view=shown, session=session)


async def _show(
    request: Request, session: Session, learner_id: str, as_of: str | None
) -> HTMLResponse:
    # One hop off the loop for the whole page: access, the read model, the template.
    html = await run_in_threadpool(_linked_page, page_readers(request), session, learner_id, as_of)
    response = HTMLResponse(html, headers=HTML_HEADERS)
    record_after(response, request, session, PORTFOLIO, owner_id=learner_id, title="Portfolio")
    return response


@router.get("/t/{tenant}/portfolio/{slug}", response_class=HTMLResponse, responses=_ERRORS)
async def showcase_in_path(
    tenant: str,
    slug: str,
    *,
    request: Request,
    runtime: RuntimeDep,
    cookie: SessionCookie = None,
    as_of: AsOf = None,
) -> HTMLResponse:
    """A learner's showcase (tenant in the path)."""
    return await _showcase(request, runtime, tenant=tenant, slug=slug, cookie=cookie, as_of=as_of)


@router.get("/portfolio/{slug}", response_class=HTMLResponse, responses=_ERRORS)
async def showcase(
    slug: str,
    *,
    request: Request,
    runtime: RuntimeDep,
    tenant: Annotated[str | None, Query(description="The tenant's slug.")] = None,
    cookie: SessionCookie = None,
    as_of: AsOf = None,
) -> HTMLResponse:
    """A learner's showcase (tenant in `?tenant=`, else the signed-in person's)."""
    return await _showcase(request, runtime, tenant=tenant, slug=slug, cookie=cookie, as_of=as_of)


async def _showcase(
    request: Request,
    runtime: Runtime,
    *,
    tenant: str | None,
    slug: str,
    cookie: str | None,
    as_of: str | None,
) -> HTMLResponse:
    session = optional_session(request, cookie)
    tenant = tenant or (session.tenant if session is not None else None)
    if not tenant:
        raise PageError(TENANT_REQUIRED, "name the tenant: /t/<tenant>/portfolio/<slug>")
    if not TENANT_SLUG.match(tenant):
        raise PageError(PORTFOLIO_NOT_FOUND, f"no tenant is called {tenant!r}")
    html = await run_in_threadpool(
        _showcase_page,
        runtime,
        page_readers(request),
        session,
        tenant=tenant,
        slug=slug,
        as_of=as_of,
    )
    return HTMLResponse(html, headers=HTML_HEADERS)


def _showcase_page(
    runtime: Runtime,
    readers: PageReaders,
    session: Session | None,
    *,
    tenant: str,
    slug: str,
    as_of: str | None,
) -> str:
    found = showcase_by_slug(runtime.hub, tenant, slug)
    if found is None:
        raise PageError(PORTFOLIO_NOT_FOUND, f"no portfolio is shown at {slug!r}")
    access = decide_showcase(readers, session, found.learner_id, found.visibility)
    if not access.can_view:
        raise refusal(access)
    shown = load_page(readers, found.learner_id, access, as_of, slug)
    return render("portfolio.html", view=shown, session=session)
