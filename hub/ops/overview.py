"""`/admin/ops`: the operations pages' landing page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hub.ops.session import AdminPage
from hub.ops.web import ops_page

router = APIRouter(tags=["pages"])


@router.get(
    "/admin/ops",
    response_class=HTMLResponse,
    responses={303: {"description": "No admin session: to the sign-in page"}},
    summary="The operations pages' overview",
)
async def overview(admin: AdminPage) -> HTMLResponse:
    return await ops_page("ops/index.html", admin=admin, current="/admin/ops")
