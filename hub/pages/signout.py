"""`POST /signout`: ends the session. The cookie is cleared and, for a valid session,
`WebSession.SignedOut` is recorded (Caliper's SessionEvent LoggedOut); signing out twice
with the same cookie records it once, and an expired or forged cookie is cleared with
nothing recorded. Browsers get a page, other clients 204.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hub.caliper.activity import record_sign_out
from hub.http.deps import RuntimeDep
from hub.http.problems import problem_responses
from hub.pages.web import PageError, SessionCookie, check_same_origin, optional_session, page
from hub.spark.sessions import COOKIE_NAME

router = APIRouter(tags=["pages"])


@router.post(
    "/signout",
    status_code=204,
    responses={200: {"description": "The signed-out page (browsers)"}, **problem_responses(403)},
    summary="Sign out: clear the session cookie and record the sign-out",
)
async def sign_out(request: Request, runtime: RuntimeDep, cookie: SessionCookie = None) -> Response:
    check_same_origin(request)
    try:
        session = optional_session(request, cookie)
    except PageError:  # a forged or expired cookie: cleared, nobody to sign out
        session = None
    if session is not None:
        await record_sign_out(
            runtime.hub,
            tenant=session.tenant,
            person_id=session.person_id,
            issued_at=session.issued_at,
        )
    if "text/html" in request.headers.get("accept", ""):
        response: Response = await page("signed_out.html")
    else:
        response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/", secure=True, httponly=True, samesite="lax")
    return response
