"""The roster webhook: enrol and drop, idempotent; an unknown learner is kept for SSO to find."""

from __future__ import annotations

import httpx

from hub.bootstrap import Runtime
from hub.domain.learners import (
    EmailIndex,
    Identity,
    Learner,
    email_index_id,
    identity_id,
    learner_id,
)
from hub.domain.quests import quest_id
from tests.hub.spark.checks import assert_rejected, before
from tests.hub.spark.signals import Partner, head, post_signed, session_cookie, sso_token

URL = "/t/acme/spark/webhook/roster"


def roster(action: str, user: str = "spark_user_123", course: str = "course_789") -> dict[str, str]:
    return {"spark_user_id": user, "spark_course_id": course, "action": action}


def events_of(runtime: Runtime, aggregate_id: str) -> list[str]:
    return [type(e).__qualname__ for e in runtime.hub.repository.event_store.get(aggregate_id)]


def test_an_unknown_learner_is_registered_enrolled_then_found_by_sso(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    response = post_signed(client, URL, roster("enroll"), acme.webhook_secret)
    assert response.status_code == 202
    body = response.json()
    assert body["changed"] is True
    assert body["position"] == head(runtime)
    assert body["quest_id"] == quest_id("acme", "spark", "course_789")
    identity: Identity = runtime.hub.repository.get(identity_id("acme", "spark", "spark_user_123"))
    assert (
        identity.learner_id == body["learner_id"] == learner_id("acme", "spark", "spark_user_123")
    )
    signed_in = client.get("/t/acme/spark/sso", params={"token": sso_token(acme.sso_secret)})
    assert signed_in.status_code == 303
    assert events_of(runtime, body["learner_id"]) == [
        "Learner.Registered",
        "Learner.Enrolled",
        "Learner.ProfileUpdated",
    ]
    # The roster knew only the Spark user id: the token's name and email fill the profile,
    # and the email now finds this learner.
    learner: Learner = runtime.hub.repository.get(body["learner_id"])
    assert (learner.given_name, learner.family_name, learner.email) == (
        "Sarah",
        "Johnson",
        "sarah@example.com",
    )
    index: EmailIndex = runtime.hub.repository.get(email_index_id("acme", "sarah@example.com"))
    assert index.learner_id == body["learner_id"]
    page = client.get("/dashboard", headers={"Cookie": f"hub_session={session_cookie(signed_in)}"})
    assert page.status_code == 200
    assert "A Spark course" in page.text
    assert "Sarah Johnson" in page.text


def test_enrol_and_drop_are_idempotent(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    answers = []
    for action in ("enroll", "enroll", "drop", "drop"):
        start = head(runtime)
        response = post_signed(client, URL, roster(action), acme.webhook_secret)
        assert response.status_code == 202
        answers.append((response.json()["changed"], head(runtime) - start))
    # Registered, Enrolled and Identity.Claimed; nothing; Dropped; nothing.
    assert answers == [(True, 3), (False, 0), (True, 1), (False, 0)]
    learner: Learner = runtime.hub.repository.get(learner_id("acme", "spark", "spark_user_123"))
    assert learner.quests == []
    assert events_of(runtime, learner.id) == [
        "Learner.Registered",
        "Learner.Enrolled",
        "Learner.Dropped",
    ]


def test_dropping_an_unknown_learner_records_nothing(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    start = head(runtime)
    response = post_signed(client, URL, roster("drop", user="ghost"), acme.webhook_secret)
    assert response.status_code == 202
    assert response.json()["changed"] is False
    assert response.json()["position"] is None
    assert head(runtime) == start


def test_an_unsigned_roster_change_is_refused(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    was = before(runtime)
    response = post_signed(client, URL, roster("enroll"), "wrong-secret")
    rejection = assert_rejected(
        response, runtime, was, status=401, reason="signature_mismatch", tenant="acme"
    )
    assert rejection.kind == "roster"


def test_an_unknown_action_is_a_422(client: httpx.Client, runtime: Runtime, acme: Partner) -> None:
    was = before(runtime)
    response = post_signed(client, URL, roster("graduate"), acme.webhook_secret)
    assert_rejected(response, runtime, was, status=422, reason="invalid_fields", tenant="acme")
    assert response.json()["errors"][0]["field"] == "action"
