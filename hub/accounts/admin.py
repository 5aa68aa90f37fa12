"""Admin routes for accounts: open one (found by email, never duplicated), read the outbox."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hub.accounts import commands
from hub.accounts.problems import run_command
from hub.accounts.routes import Email, accounts_api, send_link
from hub.http.admin import Slug
from hub.http.deps import AdminDep
from hub.http.middleware import bind_tenant
from hub.http.problems import NOT_FOUND, ProblemError, problem_responses
from infra.mail import FolderMailbox

router = APIRouter(
    prefix="/api/v1/admin", tags=["admin"], responses=problem_responses(401, 404, 422, 503)
)


class AccountOpening(BaseModel):
    tenant: Slug
    email: Email
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Annotated[
        str, Field(examples=["parent"], description="student, parent, guardian, observer")
    ]
    send_sign_in_link: bool = True


class AccountOpened(BaseModel):
    person_id: str
    created: bool = Field(description="false: the address's person was found and is returned")
    position: int | None
    link_position: int | None = None


async def known_tenant(request: Request, tenant: str) -> None:
    """Refuse (404) a tenant that is not registered; the read runs off the loop."""
    bind_tenant(request, tenant)
    hub = accounts_api(request).runtime.hub
    if await run_in_threadpool(hub.tenant, tenant) is None:
        raise ProblemError(NOT_FOUND, f"there is no tenant {tenant!r}")


@router.post("/accounts", response_model=AccountOpened, summary="Open an account (by email)")
async def open_account(body: AccountOpening, request: Request, _: AdminDep) -> AccountOpened:
    await known_tenant(request, body.tenant)
    api = accounts_api(request)
    opened = await run_command(
        request,
        "admin-token",
        commands.open_account,
        api.runtime.hub,
        body.tenant,
        email=body.email,
        name=body.name,
        role=body.role,
    )
    link = None
    if body.send_sign_in_link:
        link = await send_link(
            request, commands.send_sign_in_link, body.tenant, body.email, "admin-token"
        )
    return AccountOpened(
        person_id=opened.person_id,
        created=opened.created,
        position=opened.position,
        link_position=link,
    )


@router.get("/outbox", summary="The embedded mode's outbox: emails sent to the folder")
async def outbox(
    request: Request, _: AdminDep, tenant: Annotated[str, Query(pattern=r"^[a-z0-9-]{1,40}$")]
) -> dict[str, Any]:
    await known_tenant(request, tenant)
    settings = accounts_api(request).runtime.settings
    folder = FolderMailbox(settings.data_dir / "outbox")
    smtp = settings.smtp_host is not None
    return {"tenant": tenant, "smtp": smtp, "messages": folder.list(tenant)}
