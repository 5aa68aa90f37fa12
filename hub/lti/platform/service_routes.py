"""The services tools call: the token endpoint, AGS line items, results and scores, NRPS."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from hub.http.lean_route import LeanRoute
from hub.http.problems import problem_responses
from hub.lti.platform import ags, readers, tokens
from hub.lti.platform.errors import LtiRejectedError
from hub.lti.platform.registrations import ToolContext
from hub.lti.platform.state import LtiGate, now_s, read_form
from hub.lti.platform.tokens import AccessGrant
from schemas.lti import (
    LINEITEM_CONTAINER_MEDIA,
    LINEITEM_MEDIA,
    MEMBERSHIP_MEDIA,
    OLD_MEMBERSHIP_MEDIA,
    RESULT_CONTAINER_MEDIA,
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_NRPS,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
    LineItemIn,
    ScoreIn,
    role_uris,
)

router = APIRouter(tags=["lti"])
# The hot path: its parameters are plain strings, passed without FastAPI's per-request solving.
lean_router = APIRouter(tags=["lti"], route_class=LeanRoute)
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
AGS = "/t/{tenant}/api/lti/ags/contexts/{context_id}/lineitems"
_OAUTH_ERRORS = problem_responses(400, 401, 403, 404, 415)
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_BODY_BYTES = 64 * 1024
MAX_PAGE = 1000
DEFAULT_PAGE = 100


# -- token ---------------------------------------------------------------------------------


@router.post(
    "/t/{tenant}/api/lti/platform/token",
    responses=_OAUTH_ERRORS,
    summary="OAuth2 client credentials with a JWT client assertion (RS256)",
)
async def token(tenant: str, request: Request) -> JSONResponse:
    gate = LtiGate(request, tenant, "lti_token")
    await gate.check_tenant()
    await gate.limit("token")
    form = await read_form(request)
    gate.token = form.get("client_assertion") or None
    platform = gate.platform
    issued = await gate.run(
        "jwt-rs256",
        tokens.issue_token,
        platform.runtime.hub,
        platform.runtime.box,
        platform.tool_keys,
        gate.urls,
        form,
        now=now_s(),
    )
    body = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": " ".join(issued.scopes),
    }
    return JSONResponse(body, headers=_NO_STORE)


async def _grant(gate: LtiGate, *scopes: str) -> AccessGrant:
    await gate.check_tenant()
    header = gate.request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        await gate.reject("token_missing", "send 'Authorization: Bearer <access token>'")
    gate.token = value.strip()
    platform = gate.platform
    try:
        grant = tokens.open_token(platform.runtime.box, gate.claimed, gate.token, now=now_s())
        tokens.check_scope(grant, *scopes)
    except LtiRejectedError as error:
        await gate.refuse(error)
    gate.seen["client_id"] = grant.client_id
    await gate.limit(gate.kind.removeprefix("lti_"), grant.client_id)
    return grant


@dataclass(frozen=True)
class ServiceCall:
    """A service request that passed its bearer check: the tool, in one context."""

    gate: LtiGate
    at: ToolContext

    async def run(self, handler: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        reads = self.gate.platform.reads
        return await self.gate.run("bearer", handler, reads, self.at, *args, **kwargs)

    async def run_async(self, handler: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        reads = self.gate.platform.reads
        return await self.gate.run_async("bearer", handler, reads, self.at, *args, **kwargs)


async def _service(
    request: Request, tenant: str, context_id: str, kind: str, *scopes: str
) -> ServiceCall:
    gate = LtiGate(request, tenant, kind)
    grant = await _grant(gate, *scopes)
    return ServiceCall(gate, ToolContext(tenant, grant.client_id, context_id))


async def _body(gate: LtiGate, model: type[M], media_type: str) -> M:
    content_type = gate.request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != media_type:
        await gate.reject("media_type", f"send the body as {media_type}, not {content_type!r}")
    raw = await gate.request.body()
    if len(raw) > MAX_BODY_BYTES:
        await gate.reject("body_invalid", "the body is larger than 64 KiB")
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        fields = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()
        )
        await gate.reject("body_invalid", fields[:1000])


def _json(body: Any, media_type: str, status_code: int = 200, **headers: str) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status_code,
        media_type=media_type,
        headers=headers or None,
    )


# -- AGS line items ------------------------------------------------------------------------


@router.get(AGS, responses=_OAUTH_ERRORS, summary="AGS: the tool's line items in a context")
async def list_line_items(
    tenant: str,
    context_id: str,
    request: Request,
    *,
    resource_link_id: Annotated[str | None, Query(max_length=1000)] = None,
    resource_id: Annotated[str | None, Query(max_length=1000)] = None,
    tag: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE)] = None,
) -> Response:
    call = await _service(
        request, tenant, context_id, "lti_ags", SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY
    )
    filters = {
        k: v
        for k, v in (
            ("resource_link_id", resource_link_id),
            ("resource_id", resource_id),
            ("tag", tag),
        )
        if v is not None
    }
    items = await call.run(
        ags.list_line_items,
        filters,
    )
    shown = [ags.public_line_item(i, call.gate.urls.line_item(context_id, i["id"])) for i in items]
    return _json(shown[:limit] if limit else shown, LINEITEM_CONTAINER_MEDIA)


@router.post(AGS, status_code=201, responses=_OAUTH_ERRORS, summary="AGS: create a line item")
async def create_line_item(tenant: str, context_id: str, request: Request) -> Response:
    call = await _service(request, tenant, context_id, "lti_ags", SCOPE_LINEITEM)
    item = await _body(call.gate, LineItemIn, LINEITEM_MEDIA)
    record, _ = await call.run(
        ags.create_line_item,
        item,
    )
    url = call.gate.urls.line_item(context_id, record["id"])
    return _json(ags.public_line_item(record, url), LINEITEM_MEDIA, 201, Location=url)


@router.get(AGS + "/{line_item_id}", responses=_OAUTH_ERRORS, summary="AGS: one line item")
async def read_line_item(
    tenant: str, context_id: str, line_item_id: str, request: Request
) -> Response:
    call = await _service(
        request, tenant, context_id, "lti_ags", SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY
    )
    record = await call.run(
        ags.line_item,
        line_item_id,
    )
    url = call.gate.urls.line_item(context_id, line_item_id)
    return _json(ags.public_line_item(record, url), LINEITEM_MEDIA)


@router.put(AGS + "/{line_item_id}", responses=_OAUTH_ERRORS, summary="AGS: replace a line item")
async def update_line_item(
    tenant: str, context_id: str, line_item_id: str, request: Request
) -> Response:
    call = await _service(request, tenant, context_id, "lti_ags", SCOPE_LINEITEM)
    item = await _body(call.gate, LineItemIn, LINEITEM_MEDIA)
    record = await call.run(
        ags.update_line_item,
        line_item_id,
        item,
    )
    url = call.gate.urls.line_item(context_id, line_item_id)
    return _json(ags.public_line_item(record, url), LINEITEM_MEDIA)


@router.delete(
    AGS + "/{line_item_id}",
    status_code=204,
    responses=_OAUTH_ERRORS,
    summary="AGS: delete a line item",
)
async def delete_line_item(
    tenant: str, context_id: str, line_item_id: str, request: Request
) -> Response:
    call = await _service(request, tenant, context_id, "lti_ags", SCOPE_LINEITEM)
    await call.run(
        ags.delete_line_item,
        line_item_id,
    )
    return Response(status_code=204)


# -- AGS scores and results ----------------------------------------------------------------


@lean_router.post(
    AGS + "/{line_item_id}/scores",
    responses=_OAUTH_ERRORS,
    summary="AGS: post a score (application/vnd.ims.lis.v1.score+json)",
)
async def post_score(
    tenant: str, context_id: str, line_item_id: str, request: Request
) -> JSONResponse:
    call = await _service(request, tenant, context_id, "lti_ags", SCOPE_SCORE)
    score = await _body(call.gate, ScoreIn, "application/vnd.ims.lis.v1.score+json")
    outcome = await call.run_async(
        ags.post_score,
        line_item_id,
        score,
    )
    return JSONResponse({"changed": outcome.changed, "position": outcome.position})


@router.get(
    AGS + "/{line_item_id}/results",
    responses=_OAUTH_ERRORS,
    summary="AGS: the latest result of each user on a line item",
)
async def read_results(
    tenant: str,
    context_id: str,
    line_item_id: str,
    request: Request,
    *,
    user_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
) -> Response:
    call = await _service(request, tenant, context_id, "lti_ags", SCOPE_RESULT_READONLY)
    results = await call.run(
        readers.results,
        call.gate.platform.results,
        line_item_id,
        user_id=user_id,
        limit=limit,
    )
    url = call.gate.urls.line_item(context_id, line_item_id)
    shown = [readers.public_result(result, url) for result in results]
    return _json(shown, RESULT_CONTAINER_MEDIA)


# -- NRPS ----------------------------------------------------------------------------------


@router.get(
    "/t/{tenant}/api/lti/nrps/contexts/{context_id}/memberships",
    responses=_OAUTH_ERRORS,
    summary='NRPS: the members of a context, a page at a time (Link: rel="next")',
)
async def memberships(
    tenant: str,
    context_id: str,
    request: Request,
    *,
    role: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    call = await _service(request, tenant, context_id, "lti_nrps", SCOPE_NRPS)
    page = await call.run(
        readers.members_page,
        call.gate.platform.members,
        role=role,
        offset=offset,
        limit=limit,
    )
    url = call.gate.urls.memberships(context_id)
    body = {
        "id": url,
        "context": page.context,
        "members": [
            _member(m.user_id, m.name, m.email, role_uris(m.role), page.share) for m in page.members
        ],
    }
    accept = request.headers.get("accept", "")
    media = OLD_MEMBERSHIP_MEDIA if OLD_MEMBERSHIP_MEDIA in accept else MEMBERSHIP_MEDIA
    headers: dict[str, str] = {}
    if page.has_more:
        query = {"limit": limit, "offset": offset + limit} | ({"role": role} if role else {})
        headers["Link"] = f'<{url}?{urlencode(query)}>; rel="next"'
    return _json(body, media, 200, **headers)


def _member(
    user_id: str, name: str, email: str, roles: list[str], share: tuple[bool, bool]
) -> dict[str, Any]:
    member: dict[str, Any] = {"user_id": user_id, "status": "Active", "roles": roles}
    if share[0]:
        member["name"] = name
    if share[1] and email:
        member["email"] = email
    return member
