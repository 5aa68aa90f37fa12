"""The student's observers on their dashboard: invite (the link shown once), cancel an
invitation, remove an observer. Each form runs the family's own route, so the page and
the JSON API refuse the same things the same way."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from hub.family import routes as family_routes
from hub.family.api import family_api
from hub.http.problems import VALIDATION_FAILED, problem_responses
from hub.pages.family_pages import paged
from hub.pages.web import PageError, SessionCookie, form_fields, page, required_session, see_other

router = APIRouter(tags=["pages"])


@router.post(
    "/dashboard/observers/invite",
    response_class=HTMLResponse,
    responses=problem_responses(401, 403, 422),
    summary="The dashboard's invitation form: shows the invitation's link once",
)
async def invite_form(request: Request, cookie: SessionCookie = None) -> HTMLResponse:
    session = required_session(request, cookie)
    fields = await form_fields(request)
    try:
        body = family_routes.InvitationRequest(
            email=fields.get("email", ""),
            name=fields.get("name", ""),
            relationship=fields.get("relationship", ""),
            can_view_evidence="can_view_evidence" in fields,
            can_comment="can_comment" in fields,
        )
    except ValidationError as error:
        wrong = ", ".join(str(e["loc"][0]) for e in error.errors())
        raise PageError(VALIDATION_FAILED, f"check these fields: {wrong}") from error
    sent = await paged(family_routes.invite(body, request, session, family_api(request)))
    link = str(request.base_url).rstrip("/") + sent.accept_path
    return await page("invitation_sent.html", sent=sent, link=link, name=body.name, session=session)


@router.post(
    "/dashboard/observers/{observer_id}/remove",
    status_code=303,
    responses=problem_responses(401, 403, 404, 409),
    summary="The dashboard's remove button: the observer's access ends at once",
)
async def remove_form(
    observer_id: str, request: Request, cookie: SessionCookie = None
) -> RedirectResponse:
    await form_fields(request)
    session = required_session(request, cookie)
    await paged(family_routes.remove(observer_id, request, session, family_api(request)))
    return see_other("/dashboard?saved=observer-removed")


@router.post(
    "/dashboard/invitations/{invitation_id}/cancel",
    status_code=303,
    responses=problem_responses(401, 403, 404, 409, 410),
    summary="The dashboard's cancel button for a pending invitation",
)
async def cancel_form(
    invitation_id: str, request: Request, cookie: SessionCookie = None
) -> RedirectResponse:
    await form_fields(request)
    session = required_session(request, cookie)
    await paged(family_routes.cancel(invitation_id, request, session, family_api(request)))
    return see_other("/dashboard?saved=invitation-cancelled")
