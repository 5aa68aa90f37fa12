"""SSO from Spark: a verified token signs a learner in once; the dashboard shows them at once."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from hub.bootstrap import Runtime
from hub.domain.base import EventContext, event_context
from hub.domain.learners import EmailIndex, Identity, Learner, hub_person, identity_id
from hub.domain.quests import quest_id
from hub.domain.spark import sso_token_id
from hub.spark import handlers
from hub.spark.sessions import SessionSigner, session_key
from hub.spark.verify import token_key
from schemas.spark import SsoClaims
from tests.hub.spark.checks import assert_rejected, before
from tests.hub.spark.conftest import connect
from tests.hub.spark.signals import (
    Partner,
    claims,
    cookie_attributes,
    head,
    rs256_token,
    session_cookie,
    sso_token,
    unsigned_token,
)


def dashboard(client: httpx.Client, cookie: str) -> httpx.Response:
    return client.get("/dashboard", headers={"Cookie": f"hub_session={cookie}"})


def learner_of(runtime: Runtime, tenant: str, sub: str) -> Learner:
    identity: Identity = runtime.hub.repository.get(identity_id(tenant, "spark", sub))
    learner: Learner = runtime.hub.repository.get(identity.learner_id)
    return learner


def decode_claims(token: str) -> dict[str, object]:
    """The payload of a JWT, unverified (the test made it)."""
    payload = token.split(".")[1]
    claims: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def event_names(runtime: Runtime, aggregate_id: str) -> list[str]:
    return [type(e).__qualname__ for e in runtime.hub.repository.event_store.get(aggregate_id)]


def test_a_first_sign_in_registers_the_learner_and_shows_the_dashboard_at_once(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    token = sso_token(acme.sso_secret, spark_course_ids=["course_101", "course_205"])
    response = client.get("/t/acme/spark/sso", params={"token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    assert response.headers["cache-control"] == "no-store"
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= cookie_attributes(response)
    page = dashboard(client, session_cookie(response))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Sarah Johnson" in page.text
    assert "sarah@example.com" in page.text
    assert page.text.count("A Spark course") == 2  # enrolled, not synced yet
    learner = learner_of(runtime, "acme", "spark_user_123")
    assert learner.quests == [
        quest_id("acme", "spark", "course_101"),
        quest_id("acme", "spark", "course_205"),
    ]
    assert event_names(runtime, learner.id) == [
        "Learner.Registered",
        "Learner.Enrolled",
        "Learner.Enrolled",
    ]


def test_the_sign_in_keeps_the_verified_claims_and_the_token_s_hash_not_the_token(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    token = sso_token(acme.sso_secret)
    client.get("/t/acme/spark/sso", params={"token": token}, headers={"X-Request-ID": "req-sso"})
    learner = learner_of(runtime, "acme", "spark_user_123")
    key = token_key(token, SsoClaims.model_validate(decode_claims(token)))
    signed_in = next(iter(runtime.hub.repository.event_store.get(sso_token_id("acme", key))))
    assert signed_in.learner_id == learner.id  # type: ignore[attr-defined]
    assert signed_in.claims["sub"] == "spark_user_123"  # type: ignore[attr-defined]
    assert len(signed_in.claims["token_sha256"]) == 64  # type: ignore[attr-defined]
    assert token not in repr(signed_in)
    assert signed_in.context == {  # type: ignore[attr-defined]
        "correlation_id": "req-sso",
        "causation_id": "req-sso",
        "source": "spark",
        "verified_by": "jwt-hs256",
    }


def test_a_second_sign_in_finds_the_learner_and_enrols_only_new_courses(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    first = sso_token(acme.sso_secret, spark_course_ids=["course_101"])
    second = sso_token(acme.sso_secret, spark_course_ids=["course_101", "course_205"])
    assert client.get("/t/acme/spark/sso", params={"token": first}).status_code == 303
    assert client.get("/t/acme/spark/sso", params={"token": second}).status_code == 303
    learner = learner_of(runtime, "acme", "spark_user_123")
    assert event_names(runtime, learner.id) == [
        "Learner.Registered",
        "Learner.Enrolled",
        "Learner.Enrolled",
    ]


def test_a_learner_known_by_email_is_linked_not_created_again(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    known = Learner(
        tenant="acme",
        source="lti",
        external_id="lti-9",
        email="Sarah@Example.com",
        given_name="Sarah",
        family_name="J.",
        role="student",
    )
    runtime.hub.save(
        known, EmailIndex(tenant="acme", email="sarah@example.com", learner_id=known.id)
    )
    response = client.get("/t/acme/spark/sso", params={"token": sso_token(acme.sso_secret)})
    assert response.status_code == 303
    assert learner_of(runtime, "acme", "spark_user_123").id == known.id
    assert event_names(runtime, known.id) == [
        "Learner.Registered",
        "Learner.IdentityLinked",
    ]
    assert "Sarah J." in dashboard(client, session_cookie(response)).text


def test_an_observer_known_by_email_is_linked_and_their_session_holds_both_roles(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    gran = hub_person("acme", "gran@example.com", "Gran Smith", "observer")
    runtime.hub.save(gran, EmailIndex(tenant="acme", email=gran.email, learner_id=gran.id))
    token = sso_token(acme.sso_secret, sub="spark-gran", email="Gran@Example.com")
    response = client.get("/t/acme/spark/sso", params={"token": token})
    assert response.status_code == 303
    assert learner_of(runtime, "acme", "spark-gran").id == gran.id
    assert event_names(runtime, gran.id) == [
        "Learner.Registered",
        "Learner.IdentityLinked",
        "Learner.RoleAdded",
    ]
    session = SessionSigner(session_key(runtime.settings)).read(session_cookie(response), now=0)
    assert (session.person_id, session.role, session.roles) == (gran.id, "student", ("observer",))


@pytest.mark.parametrize("route", ["query", "header"])
def test_the_tenant_may_be_named_in_the_query_or_a_header(
    client: httpx.Client, acme: Partner, route: str
) -> None:
    token = sso_token(acme.sso_secret)
    if route == "query":
        response = client.get("/spark/sso", params={"token": token, "tenant": "acme"})
    else:
        response = client.get(
            "/spark/sso", params={"token": token}, headers={"X-Hub-Tenant": "acme"}
        )
    assert response.status_code == 303


def _now() -> int:
    return int(time.time())


BAD_TOKENS: dict[str, Callable[[Partner], str]] = {
    "token_signature": lambda p: sso_token("another-secret-of-at-least-32-bytes!!"),
    "token_algorithm": lambda p: unsigned_token(),  # alg: none
    "token_expired": lambda p: sso_token(p.sso_secret, iat=_now() - 1000, exp=_now() - 400),
    "token_not_yet_valid": lambda p: sso_token(p.sso_secret, iat=_now() + 600, exp=_now() + 1100),
    "token_lifetime": lambda p: sso_token(p.sso_secret, exp=_now() + 3600),
    "token_claims": lambda p: sso_token(p.sso_secret, email=None),
    "token_malformed": lambda p: "not-a-jwt",
}


@pytest.mark.parametrize("reason", sorted(BAD_TOKENS))
def test_a_bad_token_is_a_401_with_its_reason_recorded_and_nothing_else(
    client: httpx.Client, runtime: Runtime, acme: Partner, reason: str
) -> None:
    token = BAD_TOKENS[reason](acme)
    was = before(runtime)
    response = client.get("/t/acme/spark/sso", params={"token": token})
    rejection = assert_rejected(
        response, runtime, was, status=401, reason=reason, tenant="acme", secret=token
    )
    assert response.headers["www-authenticate"].startswith("Spark-SSO")
    assert "set-cookie" not in response.headers
    assert rejection.kind == "sso"
    assert len(rejection.evidence["token_sha256"]) == 64


def test_an_rs256_token_is_refused(client: httpx.Client, runtime: Runtime, acme: Partner) -> None:
    token = rs256_token()
    was = before(runtime)
    response = client.get("/t/acme/spark/sso", params={"token": token})
    assert_rejected(
        response, runtime, was, status=401, reason="token_algorithm", tenant="acme", secret=token
    )
    assert "RS256" in response.json()["detail"]


@pytest.mark.parametrize("nonce", ["n-1", None])
def test_a_replayed_token_is_refused_by_its_nonce_or_its_hash(
    client: httpx.Client, runtime: Runtime, acme: Partner, nonce: str | None
) -> None:
    token = sso_token(acme.sso_secret, nonce=nonce)
    assert client.get("/t/acme/spark/sso", params={"token": token}).status_code == 303
    was = before(runtime)
    again = client.get("/t/acme/spark/sso", params={"token": token})
    assert_rejected(
        again, runtime, was, status=401, reason="token_replayed", tenant="acme", secret=token
    )


def test_a_token_of_tenant_a_is_refused_at_tenant_b(
    client: httpx.Client, runtime: Runtime, acme: Partner, beta: Partner
) -> None:
    token = sso_token(acme.sso_secret)
    was = before(runtime)
    response = client.get("/t/beta/spark/sso", params={"token": token})
    assert_rejected(
        response, runtime, was, status=401, reason="token_signature", tenant="beta", secret=token
    )


def test_a_token_from_another_issuer_is_refused(client: httpx.Client, runtime: Runtime) -> None:
    partner = connect(runtime, "gamma", issuer="spark-lms")
    good = sso_token(partner.sso_secret, iss="spark-lms")
    bad = sso_token(partner.sso_secret, iss="someone-else")
    assert client.get("/t/gamma/spark/sso", params={"token": good}).status_code == 303
    was = before(runtime)
    response = client.get("/t/gamma/spark/sso", params={"token": bad})
    assert_rejected(response, runtime, was, status=401, reason="token_issuer", tenant="gamma")


def test_without_a_token_it_is_a_400(client: httpx.Client, runtime: Runtime, acme: Partner) -> None:
    was = before(runtime)
    response = client.get("/t/acme/spark/sso")
    assert_rejected(response, runtime, was, status=400, reason="token_missing", tenant="acme")


def test_an_unknown_tenant_is_a_404_recorded_under_unknown(
    client: httpx.Client, runtime: Runtime
) -> None:
    was = before(runtime)
    response = client.get("/t/nobody/spark/sso", params={"token": "x.y.z"})
    rejection = assert_rejected(
        response, runtime, was, status=404, reason="unknown_tenant", tenant=None
    )
    assert rejection.evidence["claimed_tenant"] == "nobody"


def test_a_tenant_without_spark_is_a_404(client: httpx.Client, runtime: Runtime) -> None:
    runtime.hub.register_tenant("plain", "Plain", runtime.box)
    was = before(runtime)
    response = client.get("/t/plain/spark/sso", params={"token": "x.y.z"})
    assert_rejected(
        response, runtime, was, status=404, reason="spark_not_connected", tenant="plain"
    )


@pytest.mark.parametrize(
    ("params", "headers", "reason"),
    [
        ({"token": "x.y.z"}, {}, "tenant_missing"),
        ({"token": "x.y.z", "tenant": "acme"}, {"X-Hub-Tenant": "beta"}, "tenant_conflict"),
    ],
)
def test_the_tenant_must_be_named_once(
    client: httpx.Client,
    runtime: Runtime,
    acme: Partner,
    params: dict[str, str],
    headers: dict[str, str],
    reason: str,
) -> None:
    was = before(runtime)
    response = client.get("/spark/sso", params=params, headers=headers)
    assert_rejected(response, runtime, was, status=400, reason=reason, tenant=None)


def test_without_a_valid_session_the_dashboard_is_a_401_problem(client: httpx.Client) -> None:
    missing = client.get("/dashboard")
    forged = dashboard(client, "eyJ0IjoiYWNtZSJ9.bm90LWEtbWFj")
    for response in (missing, forged):
        assert response.status_code == 401
        assert response.json()["type"] == "https://hub.example/problems/session-required"


def test_two_first_sign_ins_racing_make_one_learner(runtime: Runtime, acme: Partner) -> None:
    tokens = [SsoClaims.model_validate(claims()) for _ in range(4)]
    barrier = threading.Barrier(len(tokens))
    results: list[handlers.SignInResult] = []
    errors: list[BaseException] = []

    def sign_in(made: SsoClaims) -> None:
        barrier.wait()
        try:
            with event_context(EventContext("race", "race", "spark", "jwt-hs256")):
                results.append(
                    handlers.sign_in(
                        runtime.hub,
                        "acme",
                        made,
                        token_key=token_key("t", made),
                        token_sha256="0" * 64,
                    )
                )
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=sign_in, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({result.learner_id for result in results}) == 1
    learner = learner_of(runtime, "acme", "spark_user_123")
    names = event_names(runtime, learner.id)
    assert names.count("Learner.Registered") == 1
    accepted = [runtime.hub.repository.get(sso_token_id("acme", t.nonce or "")) for t in tokens]
    assert {token.learner_id for token in accepted} == {learner.id}
    assert head(runtime) >= max(result.position for result in results)


def test_two_spark_users_sharing_an_email_stay_two_learners(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    first = sso_token(acme.sso_secret, sub="sibling-1", email="family@example.com")
    second = sso_token(acme.sso_secret, sub="sibling-2", email="family@example.com")
    assert client.get("/t/acme/spark/sso", params={"token": first}).status_code == 303
    assert client.get("/t/acme/spark/sso", params={"token": second}).status_code == 303
    one = learner_of(runtime, "acme", "sibling-1")
    two = learner_of(runtime, "acme", "sibling-2")
    assert one.id != two.id
    assert event_names(runtime, one.id) == ["Learner.Registered"]


def test_a_returning_learner_s_sign_in_is_one_event(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    assert (
        client.get("/t/acme/spark/sso", params={"token": sso_token(acme.sso_secret)}).status_code
        == 303
    )
    learner = learner_of(runtime, "acme", "spark_user_123")
    history = event_names(runtime, learner.id)
    start = head(runtime)
    again = client.get("/t/acme/spark/sso", params={"token": sso_token(acme.sso_secret)})
    assert again.status_code == 303
    assert head(runtime) == start + 1  # SsoToken.Accepted, nothing else
    assert event_names(runtime, learner.id) == history
