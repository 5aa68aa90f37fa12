"""`/admin/ops/static/…`: the operations pages' stylesheet and script (no CDN), cached a day."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter
from fastapi.responses import Response

from hub.http.problems import NOT_FOUND, ProblemError
from hub.ops.web import HERE

router = APIRouter(tags=["pages"])
TYPES = {"ops.css": "text/css; charset=utf-8", "ops.js": "text/javascript; charset=utf-8"}


@cache
def _file(name: str) -> bytes:
    return (HERE / "static" / name).read_bytes()


@router.get("/admin/ops/static/{name}", response_class=Response, include_in_schema=False)
async def static_file(name: str) -> Response:
    if name not in TYPES:
        raise ProblemError(NOT_FOUND, f"no static file {name}")
    return Response(
        _file(name),
        media_type=TYPES[name],
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
