"""Sign-in through HTTP: passwords (after SSO too), links, resets, limits, one person each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from structlog.testing import capture_logs

from hub.accounts.limits import SignInLimits
from hub.domain.learners import Learner
from tests.accounts.conftest import World, problem

PASSWORD = "correct horse battery staple"


@contextmanager
def fresh_limits(world: World, **limits: int) -> Iterator[None]:
    """Limits of the test's own (the module's other tests used the shared ones)."""
    api = world.app.state.accounts
    saved = api.limits
    api.limits = SignInLimits(**limits)
    try:
        yield
    finally:
        api.limits = saved


def sign_in(world: World, tenant: str, email: str, password: str) -> httpx.Response:
    return world.http.post(
        "/api/v1/accounts/sign-in", json={"tenant": tenant, "email": email, "password": password}
    )


def set_password(world: World, person: str, password: str, **extra: str) -> httpx.Response:
    return world.http.put(
        "/api/v1/me/password",
        json={"password": password, **extra},
        headers=world.cookie(person, "student"),
    )


def open_account(world: World, tenant: str, email: str, role: str) -> httpx.Response:
    return world.http.post(
        "/api/v1/admin/accounts",
        json={"tenant": tenant, "email": email, "name": "Pat Doe", "role": role},
        headers=world.admin(),
    )


def session_of(response: httpx.Response) -> str:
    cookie = response.headers["set-cookie"]
    assert {"HttpOnly", "Secure", "SameSite=lax"} <= {p.strip() for p in cookie.split(";")}
    return cookie.split(";", 1)[0]


def test_a_student_from_sso_sets_a_password_and_signs_in_with_it(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    assert set_password(world, sam, PASSWORD).status_code == 200

    answer = sign_in(world, tenant, "SAM@example.org ", PASSWORD)
    assert answer.status_code == 200, answer.text
    assert answer.json()["person_id"] == sam
    assert answer.json()["role"] == "student"
    me = world.app.state.spark.signer.read(session_of(answer).split("=", 1)[1], now=0)
    assert (me.tenant, me.learner_id, me.role) == (tenant, sam, "student")


def test_wrong_password_and_unknown_address_are_one_refusal_recorded_in_the_audit_stream(
    world: World,
) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    set_password(world, sam, PASSWORD)
    before = len(world.events())
    wrong = problem(
        sign_in(world, tenant, "sam@example.org", "not the password!"), 401, "sign-in-failed"
    )
    unknown = problem(sign_in(world, tenant, "who@example.org", PASSWORD), 401, "sign-in-failed")
    assert wrong["detail"] == unknown["detail"]
    assert len(world.events()) == before  # nothing in the log


def test_changing_a_password_needs_the_current_one(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    set_password(world, sam, PASSWORD)
    problem(set_password(world, sam, "another long password"), 403, "current-password-wrong")
    problem(
        set_password(world, sam, "another long password", current_password="wrong one here"),
        403,
        "current-password-wrong",
    )
    assert set_password(world, sam, "another long password", current_password=PASSWORD).is_success
    problem(sign_in(world, tenant, "sam@example.org", PASSWORD), 401, "sign-in-failed")
    assert sign_in(world, tenant, "sam@example.org", "another long password").is_success


def test_a_short_password_is_refused(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    problem(set_password(world, sam, "short"), 422, "password-policy")
    problem(set_password(world, sam, "sam@example.org"), 422, "password-policy")


def test_a_flood_from_one_address_is_limited(world: World) -> None:
    tenant = world.tenant()
    with fresh_limits(world, per_address=3):
        for key in ("a", "b", "c"):
            problem(sign_in(world, tenant, f"{key}@example.org", "wrong"), 401, "sign-in-failed")
        refused = sign_in(world, tenant, "d@example.org", "wrong password")
        problem(refused, 429, "sign-in-limited")
        assert int(refused.headers["Retry-After"]) >= 1


def test_failures_for_one_account_lock_it_even_with_the_right_password(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    set_password(world, sam, PASSWORD)
    with fresh_limits(world, per_account=3):
        for _ in range(3):
            problem(sign_in(world, tenant, "sam@example.org", "wrong"), 401, "sign-in-failed")
        problem(sign_in(world, tenant, "sam@example.org", PASSWORD), 429, "sign-in-limited")
        # Another account from the same address is not locked.
        world.learner(tenant, "ann")
        problem(sign_in(world, tenant, "ann@example.org", "wrong"), 401, "sign-in-failed")


def test_an_admin_opens_an_account_once_per_address_whoever_came_first(world: World) -> None:
    tenant = world.tenant()
    opened = open_account(world, tenant, "Pat@Example.org", "parent")
    assert opened.status_code == 200, opened.text
    pat = opened.json()["person_id"]
    assert opened.json()["created"] is True
    again = open_account(world, tenant, "pat@example.org ", "parent").json()
    assert (again["person_id"], again["created"]) == (pat, False)
    parent = world.hub.repository.get(pat)
    assert isinstance(parent, Learner)
    assert parent.role == "parent"

    sam = world.learner(tenant, "sam")  # arrived by SSO first
    found = open_account(world, tenant, "sam@example.org", "student").json()
    assert (found["person_id"], found["created"]) == (sam, False)
    observer = open_account(world, tenant, "gran@example.org", "observer").json()
    gran = world.hub.repository.get(observer["person_id"])  # a person SSO can link later
    assert (type(gran), gran.roles) == (Learner, ("observer",))
    problem(open_account(world, tenant, "x@example.org", "admin"), 422, "account-role-not-allowed")


def test_a_sign_in_link_works_once_and_not_after_it_expires(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    asked = world.http.post(
        "/api/v1/accounts/sign-in-links", json={"tenant": tenant, "email": "sam@example.org"}
    )
    assert asked.status_code == 202
    [mail] = world.mails(tenant)
    assert (mail["kind"], mail["to"]) == ("sign-in-link", "sam@example.org")
    token = world.token_in_last_mail(tenant)

    opened = world.http.get("/accounts/sign-in", params={"token": token})  # uses nothing
    assert opened.status_code == 200
    assert "hub_session" not in opened.headers.get("set-cookie", "")
    followed = world.http.post("/accounts/sign-in", data={"token": token})  # the page's button
    assert followed.status_code == 303
    assert followed.headers["location"] == "/dashboard"
    me = world.app.state.spark.signer.read(session_of(followed).split("=", 1)[1], now=0)
    assert me.learner_id == sam
    problem(
        world.http.post("/api/v1/accounts/sign-in-links/use", json={"token": token}),
        409,
        "link-used",
    )

    world.http.post(
        "/api/v1/accounts/sign-in-links", json={"tenant": tenant, "email": "sam@example.org"}
    )
    late = world.token_in_last_mail(tenant)
    world.later(minutes=16)
    try:
        problem(
            world.http.post("/api/v1/accounts/sign-in-links/use", json={"token": late}),
            410,
            "link-expired",
        )
    finally:
        world.later(minutes=-16)
    forged = late[:-4] + ("AAAA" if not late.endswith("AAAA") else "BBBB")
    problem(
        world.http.post("/api/v1/accounts/sign-in-links/use", json={"token": forged}),
        404,
        "link-not-found",
    )
    problem(
        world.http.post("/api/v1/accounts/sign-in-links/use", json={"token": "nonsense"}),
        404,
        "link-not-found",
    )


def test_a_link_for_an_unknown_address_is_answered_alike_and_sends_nothing(world: World) -> None:
    tenant = world.tenant()
    before = len(world.events())
    asked = world.http.post(
        "/api/v1/accounts/sign-in-links", json={"tenant": tenant, "email": "nobody@example.org"}
    )
    assert asked.status_code == 202
    assert len(world.events()) == before


def test_a_password_reset_sets_a_new_password_once_within_the_hour(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    set_password(world, sam, PASSWORD)
    new = "a brand new long password"
    world.http.post(
        "/api/v1/accounts/password-resets", json={"tenant": tenant, "email": "sam@example.org"}
    )
    token = world.token_in_last_mail(tenant)
    assert world.mails(tenant)[-1]["kind"] == "password-reset"
    # A reset token is not a sign-in link.
    problem(
        world.http.post("/api/v1/accounts/sign-in-links/use", json={"token": token}),
        404,
        "link-not-found",
    )
    done = world.http.post(
        "/api/v1/accounts/password-resets/complete", json={"token": token, "password": new}
    )
    assert done.status_code == 200, done.text
    assert done.json()["person_id"] == sam
    problem(sign_in(world, tenant, "sam@example.org", PASSWORD), 401, "sign-in-failed")
    assert sign_in(world, tenant, "sam@example.org", new).is_success
    problem(
        world.http.post(
            "/api/v1/accounts/password-resets/complete", json={"token": token, "password": new}
        ),
        409,
        "link-used",
    )

    world.http.post(
        "/api/v1/accounts/password-resets", json={"tenant": tenant, "email": "sam@example.org"}
    )
    late = world.token_in_last_mail(tenant)
    world.later(hours=1, seconds=1)
    try:
        problem(
            world.http.post(
                "/api/v1/accounts/password-resets/complete",
                json={"token": late, "password": PASSWORD},
            ),
            410,
            "link-expired",
        )
    finally:
        world.later(hours=-1, seconds=-1)
    assert sign_in(world, tenant, "sam@example.org", new).is_success  # unchanged


def test_passwords_and_tokens_never_reach_the_log_or_the_logs(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    secret = "a password nobody should ever read"
    with capture_logs() as logs:
        set_password(world, sam, secret)
        sign_in(world, tenant, "sam@example.org", secret)
        sign_in(world, tenant, "sam@example.org", secret + "!")
        world.http.post(
            "/api/v1/accounts/sign-in-links", json={"tenant": tenant, "email": "sam@example.org"}
        )
        token = world.token_in_last_mail(tenant)
        world.http.get("/accounts/sign-in", params={"token": token})  # in the query string
        world.http.post("/accounts/sign-in", data={"token": token})
        world.http.post(
            "/api/v1/accounts/password-resets", json={"tenant": tenant, "email": "sam@example.org"}
        )
        reset = world.token_in_last_mail(tenant)
        world.http.post(
            "/api/v1/accounts/password-resets/complete",
            json={"token": reset, "password": secret + "?"},
        )
    secret_part = token.rsplit(".", 1)[1]
    reset_part = reset.rsplit(".", 1)[1]
    stored = b"".join(n.state for n in world.events())
    for leaked in (secret, secret_part, reset_part):
        assert leaked.encode() not in stored
        assert leaked not in repr(logs)
    assert b"argon2id" in stored  # the hash is what is kept


def test_the_same_address_in_two_tenants_is_two_people_with_their_own_passwords(
    world: World,
) -> None:
    first, second = world.tenant(), world.tenant()
    sam_first, sam_second = world.learner(first, "sam"), world.learner(second, "sam")
    set_password(world, sam_first, PASSWORD)
    problem(sign_in(world, second, "sam@example.org", PASSWORD), 401, "sign-in-failed")
    assert sign_in(world, first, "sam@example.org", PASSWORD).json()["person_id"] == sam_first
    set_password(world, sam_second, "the second tenant's password")
    answer = sign_in(world, second, "sam@example.org", "the second tenant's password")
    assert (answer.json()["tenant"], answer.json()["person_id"]) == (second, sam_second)


def test_an_observer_account_chooses_a_password_by_reset_and_signs_in_as_observer(
    world: World,
) -> None:
    tenant = world.tenant()
    gran = open_account(world, tenant, "gran@example.org", "observer").json()["person_id"]
    assert world.mails(tenant)[-1]["kind"] == "sign-in-link"  # sent on opening
    world.http.post(
        "/api/v1/accounts/password-resets", json={"tenant": tenant, "email": "gran@example.org"}
    )
    token = world.token_in_last_mail(tenant)
    world.http.post(
        "/api/v1/accounts/password-resets/complete", json={"token": token, "password": PASSWORD}
    )
    answer = sign_in(world, tenant, "gran@example.org", PASSWORD)
    assert (answer.json()["person_id"], answer.json()["role"]) == (gran, "observer")
