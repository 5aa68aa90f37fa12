"""`/static/hub.css`: the pages' one stylesheet, served by the hub (no CDN), cached a day."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter
from fastapi.responses import Response

from hub.pages.web import HERE

router = APIRouter(tags=["pages"])


@cache
def _stylesheet() -> bytes:
    return (HERE / "static" / "hub.css").read_bytes()


@router.get("/static/hub.css", response_class=Response, include_in_schema=False)
async def stylesheet() -> Response:
    return Response(
        _stylesheet(),
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
