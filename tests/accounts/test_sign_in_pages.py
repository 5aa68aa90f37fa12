"""The sign-in pages over HTTP: each form runs the accounts API's logic (limits, links,
resets) and answers a browser with a page: the person's page after a success, the form
again with its precise status and error otherwise; the emailed link is used only by a POST."""

from __future__ import annotations

import re

import httpx

from tests.accounts.conftest import World
from tests.accounts.test_sign_in import (
    PASSWORD,
    fresh_limits,
    open_account,
    session_of,
    set_password,
    sign_in,
)

HTML = {"Accept": "text/html"}


def post(world: World, path: str, data: dict[str, str], **headers: str) -> httpx.Response:
    return world.http.post(path, data=data, headers={**HTML, **headers})


def shown_error(response: httpx.Response, status: int, slug: str) -> str:
    """The page's error: its status and problem type; the page is HTML with an alert."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert f'role="alert" id="form-error" tabindex="-1" data-problem="{slug}"' in response.text
    return response.text


def invalid_fields(html: str) -> list[str]:
    return re.findall(r'id="([a-z_]+)" name="[a-z_]+"[^>]*aria-invalid="true"', html)


def signed_in_as(world: World, response: httpx.Response) -> str:
    cookie = session_of(response).split("=", 1)[1]
    person: str = world.app.state.spark.signer.read(cookie, now=0).learner_id
    return person


def test_the_sign_in_form_signs_in_to_the_persons_own_page(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    assert set_password(world, sam, PASSWORD).status_code == 200
    pat = open_account(world, tenant, "pat@example.org", "parent").json()["person_id"]
    assert set_password(world, pat, PASSWORD).status_code == 200

    form = world.http.get("/sign-in", params={"tenant": tenant}, headers=HTML)
    assert form.status_code == 200
    for label in ('for="tenant"', 'for="email"', 'for="password"', 'href="/sign-in/link?'):
        assert label in form.text
    assert f'value="{tenant}"' in form.text

    fields = {"tenant": tenant, "email": "Sam@Example.org", "password": PASSWORD}
    student = post(world, "/sign-in", fields)
    assert (student.status_code, student.headers["location"]) == (303, "/dashboard")
    assert signed_in_as(world, student) == sam
    parent = post(world, "/sign-in", {**fields, "email": "pat@example.org"})
    assert (parent.headers["location"], signed_in_as(world, parent)) == ("/parent", pat)


def test_a_wrong_password_shows_the_form_again_and_a_flood_is_refused(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    set_password(world, sam, PASSWORD)
    wrong = {"tenant": tenant, "email": "sam@example.org", "password": "not the password"}
    with fresh_limits(world, per_account=2):
        page = shown_error(post(world, "/sign-in", wrong), 401, "sign-in-failed")
        assert invalid_fields(page) == ["password"]
        assert 'value="sam@example.org"' in page  # the address is kept
        assert "not the password" not in page  # the password never is
        shown_error(post(world, "/sign-in", wrong), 401, "sign-in-failed")
        limited = post(world, "/sign-in", {**wrong, "password": PASSWORD})
        shown_error(limited, 429, "sign-in-limited")
        assert int(limited.headers["retry-after"]) > 0
        assert "set-cookie" not in limited.headers


def test_a_form_that_is_not_filled_in_right_changes_nothing(world: World) -> None:
    tenant = world.tenant()
    world.learner(tenant, "sam")
    page = post(world, "/sign-in/link", {"tenant": tenant, "email": "not an address"})
    assert invalid_fields(shown_error(page, 422, "form-invalid")) == ["email"]
    page = post(world, "/sign-in", {"tenant": "No Such!", "email": "sam@example.org"})
    assert invalid_fields(shown_error(page, 422, "form-invalid")) == ["tenant"]
    assert world.mails(tenant) == []
    other_site = post(
        world,
        "/sign-in/link",
        {"tenant": tenant, "email": "sam@example.org"},
        Origin="https://evil.example",
    )
    assert other_site.status_code == 403
    assert 'data-problem="cross-site-form"' in other_site.text
    assert world.mails(tenant) == []


def test_the_emailed_link_opens_a_page_and_only_its_button_signs_in(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    asked = post(world, "/sign-in/link", {"tenant": tenant, "email": "sam@example.org"})
    assert asked.status_code == 200
    assert "Check your email" in asked.text
    nobody = post(world, "/sign-in/link", {"tenant": tenant, "email": "nobody@example.org"})
    assert (nobody.status_code, nobody.text) == (200, asked.text)  # no enumeration
    assert [m["to"] for m in world.mails(tenant)] == ["sam@example.org"]
    token = world.token_in_last_mail(tenant)

    for _ in range(2):  # an email scanner opening the link, then the person
        opened = world.http.get("/accounts/sign-in", params={"token": token}, headers=HTML)
        assert opened.status_code == 200
        assert "set-cookie" not in opened.headers
        assert f'name="token" value="{token}"' in opened.text
    used = post(world, "/accounts/sign-in", {"token": token})
    assert (used.status_code, used.headers["location"]) == (303, "/dashboard")
    assert signed_in_as(world, used) == sam
    again = shown_error(post(world, "/accounts/sign-in", {"token": token}), 409, "link-used")
    assert "ask for a new sign-in link" in again

    post(world, "/sign-in/link", {"tenant": tenant, "email": "sam@example.org"})
    late = world.token_in_last_mail(tenant)
    world.later(minutes=16)
    try:
        shown_error(post(world, "/accounts/sign-in", {"token": late}), 410, "link-expired")
    finally:
        world.later(minutes=-16)
    shown_error(post(world, "/accounts/sign-in", {"token": "forged"}), 404, "link-not-found")


def test_a_reset_by_email_sets_a_new_password_once(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    set_password(world, sam, PASSWORD)
    asked = post(world, "/sign-in/reset", {"tenant": tenant, "email": "sam@example.org"})
    assert asked.status_code == 200
    token = world.token_in_last_mail(tenant)
    form = world.http.get("/accounts/reset", params={"token": token}, headers=HTML)
    assert form.status_code == 200
    assert 'autocomplete="new-password"' in form.text

    new = "a brand new passphrase"
    differ = post(
        world, "/accounts/reset", {"token": token, "password": new, "password_again": new + "!"}
    )
    assert invalid_fields(shown_error(differ, 422, "passwords-differ")) == ["password_again"]
    short = post(
        world, "/accounts/reset", {"token": token, "password": "short", "password_again": "short"}
    )
    assert invalid_fields(shown_error(short, 422, "password-policy")) == ["password"]
    assert sign_in(world, tenant, "sam@example.org", PASSWORD).status_code == 200  # unchanged

    done = post(world, "/accounts/reset", {"token": token, "password": new, "password_again": new})
    assert (done.status_code, signed_in_as(world, done)) == (303, sam)
    assert sign_in(world, tenant, "sam@example.org", new).status_code == 200
    assert sign_in(world, tenant, "sam@example.org", PASSWORD).status_code == 401
    same = {"token": token, "password": new, "password_again": new}
    shown_error(post(world, "/accounts/reset", same), 409, "link-used")


def test_a_student_from_sso_sets_a_password_on_their_page(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    assert world.http.get("/account/password", headers=HTML).status_code == 401
    me = {**HTML, **world.cookie(sam, "student")}
    assert world.http.get("/account/password", headers=me).status_code == 200
    fields = {"password": PASSWORD, "password_again": PASSWORD}
    saved = world.http.post("/account/password", data=fields, headers=me)
    assert saved.status_code == 303
    assert saved.headers["location"] == "/account/password?saved=password"
    assert "Your password is saved" in world.http.get(saved.headers["location"], headers=me).text
    assert sign_in(world, tenant, "sam@example.org", PASSWORD).status_code == 200

    change = {"password": "another long passphrase", "password_again": "another long passphrase"}
    refused = world.http.post("/account/password", data=change, headers=me)
    assert invalid_fields(shown_error(refused, 403, "current-password-wrong")) == [
        "current_password"
    ]
    assert sign_in(world, tenant, "sam@example.org", PASSWORD).status_code == 200  # unchanged
    changed = world.http.post(
        "/account/password", data={**change, "current_password": PASSWORD}, headers=me
    )
    assert changed.status_code == 303
    assert sign_in(world, tenant, "sam@example.org", change["password"]).status_code == 200
