"""The admin pages' session: sign-in with the admin token sets a strict HttpOnly cookie,
pages without it send the browser to sign in, POST forms need the session's CSRF token."""

from __future__ import annotations

import re
import time

import httpx

from hub.ops.session import SIGN_INS_PER_MINUTE
from hub.spark.sessions import SessionSigner
from tests.hub.http.conftest import ADMIN_TOKEN

HTML = {"Accept": "text/html"}


def signed_in(client: httpx.Client) -> str:
    """The `hub_admin` cookie a right sign-in sets."""
    answer = client.post(
        "/admin/sign-in", data={"token": ADMIN_TOKEN, "next": "/admin/ops"}, headers=HTML
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/admin/ops"
    set_cookie = answer.headers["set-cookie"]
    for part in ("HttpOnly", "SameSite=strict", "Path=/admin", "Secure"):
        assert part.lower() in set_cookie.lower(), set_cookie
    match = re.match(r"hub_admin=([^;]+);", set_cookie)
    assert match is not None
    return match.group(1)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match is not None, html
    return match.group(1)


def test_pages_send_a_browser_without_a_session_to_sign_in(client: httpx.Client) -> None:
    answer = client.get("/admin/ops", headers=HTML)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/sign-in?next=/admin/ops"
    forged = client.get("/admin/ops", headers={**HTML, "Cookie": "hub_admin=abc.def"})
    assert forged.status_code == 303
    form = client.get("/admin/sign-in", params={"next": "/admin/ops"}, headers=HTML)
    assert form.status_code == 200
    assert '<label for="token">Admin token</label>' in form.text
    assert 'name="next" value="/admin/ops"' in form.text


def test_the_admin_token_signs_in_and_the_cookie_opens_the_pages(client: httpx.Client) -> None:
    cookie = signed_in(client)
    page = client.get("/admin/ops", headers={**HTML, "Cookie": f"hub_admin={cookie}"})
    assert page.status_code == 200, page.text
    assert '<nav aria-label="Operations">' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert ADMIN_TOKEN not in page.text


def test_a_wrong_token_is_refused_on_the_form(client: httpx.Client) -> None:
    answer = client.post("/admin/sign-in", data={"token": "guess"}, headers=HTML)
    assert answer.status_code == 401
    assert 'data-problem="admin-token-wrong"' in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert "set-cookie" not in answer.headers


def test_sign_in_goes_back_to_admin_pages_only(client: httpx.Client) -> None:
    for asked, landed in [
        ("/admin/ops/projections", "/admin/ops/projections"),
        ("//evil.example/admin/", "/admin/ops"),
        ("https://evil.example/", "/admin/ops"),
        ("/dashboard", "/admin/ops"),
    ]:
        answer = client.post("/admin/sign-in", data={"token": ADMIN_TOKEN, "next": asked})
        assert (answer.status_code, answer.headers["location"]) == (303, landed)


def test_a_learner_session_cookie_is_no_admin_session(client: httpx.Client, app: object) -> None:
    # the pages' signer, with the hub's key: even a role "admin" session is not an admin page's
    signer: SessionSigner = app.state.page_signer  # type: ignore[attr-defined]
    cookie, _ = signer.issue(
        tenant="acme", learner_id="x", role="admin", position=0, now=int(time.time())
    )
    answer = client.get("/admin/ops", headers={**HTML, "Cookie": f"hub_admin={cookie}"})
    assert answer.status_code == 303


def test_sign_out_needs_the_sessions_csrf_token_and_a_same_site_form(
    client: httpx.Client,
) -> None:
    cookie = signed_in(client)
    headers = {**HTML, "Cookie": f"hub_admin={cookie}"}
    csrf = csrf_of(client.get("/admin/ops", headers=headers).text)
    missing = client.post("/admin/sign-out", data={}, headers=headers)
    assert missing.status_code == 403
    assert "csrf-refused" in missing.text
    wrong = client.post("/admin/sign-out", data={"csrf": csrf[::-1]}, headers=headers)
    assert wrong.status_code == 403
    cross = client.post(
        "/admin/sign-out",
        data={"csrf": csrf},
        headers={**headers, "Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    out = client.post("/admin/sign-out", data={"csrf": csrf}, headers=headers)
    assert (out.status_code, out.headers["location"]) == (303, "/admin/sign-in")
    assert 'hub_admin=""' in out.headers["set-cookie"]


def test_sign_in_attempts_are_limited_per_address(client: httpx.Client) -> None:
    answers = [
        client.post("/admin/sign-in", data={"token": "guess"}, headers=HTML).status_code
        for _ in range(SIGN_INS_PER_MINUTE)
    ]
    assert answers == [401] * SIGN_INS_PER_MINUTE
    refused = client.post("/admin/sign-in", data={"token": ADMIN_TOKEN}, headers=HTML)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert 'data-problem="too-many-sign-ins"' in refused.text
    assert "set-cookie" not in refused.headers
