"""What the operations pages share: their templates (with the pages' own, for `forms.html`),
their headers (own scripts allowed, for live progress), and rendering off the event loop."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from hub.pages import web as pages_web

HERE = Path(__file__).parent
OPS_HEADERS = {
    **pages_web.HTML_HEADERS,
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
}


@cache
def templates() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [FileSystemLoader(HERE / "templates"), FileSystemLoader(pages_web.HERE / "templates")]
        ),
        autoescape=select_autoescape(default=True),
        auto_reload=False,
    )
    env.filters["when"] = pages_web.when
    return env


def render(template: str, **context: Any) -> str:
    return templates().get_template(template).render(**context)


async def ops_page(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """`template` (under `hub/ops/templates`, e.g. `ops/projections.html`) as a page; pass
    `admin` (the `AdminPage` session) so the navigation and the forms' CSRF field show."""
    html = await run_in_threadpool(render, template, **context)
    return HTMLResponse(html, status_code=status_code, headers=OPS_HEADERS)


def rendered(html: str, status_code: int = 200) -> HTMLResponse:
    """An operations page already rendered (see `hub.ops.fresh.Fresh.derived`)."""
    return HTMLResponse(html, status_code=status_code, headers=OPS_HEADERS)
