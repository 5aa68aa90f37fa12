"""`POST /signout` on a running hub: the cookie cleared, the sign-out recorded only for a valid
session, a browser's form from another site refused."""

from __future__ import annotations

import httpx

from hub.bootstrap import Runtime
from hub.caliper.activity import WebSession, web_session_id
from hub.spark.sessions import COOKIE_NAME, SessionSigner, session_key


def cookie(runtime: Runtime, learner: str = "acme.Learner.0123") -> tuple[dict[str, str], int]:
    value, session = SessionSigner(session_key(runtime.settings)).issue(
        tenant="acme", learner_id=learner, role="student", position=0, now=1_900_000_000
    )
    return {"Cookie": f"{COOKIE_NAME}={value}"}, session.issued_at


def head(runtime: Runtime) -> int:
    return runtime.hub.recorder.max_notification_id() or 0


def test_a_browser_signs_out_and_sees_the_signed_out_page(
    client: httpx.Client, runtime: Runtime
) -> None:
    headers, issued_at = cookie(runtime)

    response = client.post("/signout", headers={**headers, "Accept": "text/html"})

    assert response.status_code == 200
    assert "You are signed out" in response.text
    assert response.headers["set-cookie"].startswith(f'{COOKIE_NAME}="";')
    assert "Max-Age=0" in response.headers["set-cookie"]
    ended: WebSession = runtime.hub.repository.get(
        web_session_id("acme", "acme.Learner.0123", issued_at)
    )
    assert ended.person_id == "acme.Learner.0123"


def test_a_forged_or_missing_cookie_is_cleared_and_nothing_is_recorded(
    client: httpx.Client, runtime: Runtime
) -> None:
    before = head(runtime)

    forged = client.post("/signout", headers={"Cookie": f"{COOKIE_NAME}=e30.bm9wZQ"})
    missing = client.post("/signout")

    assert (forged.status_code, missing.status_code) == (204, 204)
    assert f'{COOKIE_NAME}="";' in forged.headers["set-cookie"]
    assert head(runtime) == before


def test_a_sign_out_form_from_another_site_is_refused(
    client: httpx.Client, runtime: Runtime
) -> None:
    headers, _ = cookie(runtime, "acme.Learner.0456")
    before = head(runtime)

    response = client.post(
        "/signout", headers={**headers, "Origin": "https://evil.example", "Accept": "text/html"}
    )

    assert response.status_code == 403
    assert 'data-problem="cross-site-form"' in response.text
    assert "set-cookie" not in response.headers
    assert head(runtime) == before
