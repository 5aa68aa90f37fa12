"""Spark secret rotation: the old secret verifies beside the new one until its window ends."""

from __future__ import annotations

import httpx
import pytest

from hub.bootstrap import Runtime
from hub.secret_kinds import SparkSecret
from hub.spark.connection import (
    MAX_OVERLAP_S,
    open_secrets,
    rotate_spark_secret,
    spark_connection,
)
from hub.spark.verify import SignalRejectedError, verify_webhook_signature
from tests.hub.http.conftest import admin
from tests.hub.spark.checks import assert_rejected, before
from tests.hub.spark.signals import Partner, post_signed, signature, sso_token

ROTATE = "/api/v1/admin/tenants/acme/spark/secrets/rotate"
ROSTER = "/t/acme/spark/webhook/roster"
T0 = 1_800_000_000.0


def roster(user: str) -> dict[str, str]:
    return {"action": "enroll", "spark_user_id": user, "spark_course_id": "course_789"}


def verifies(runtime: Runtime, secret: str, *, now: float) -> bool:
    connection = spark_connection(runtime.hub, "acme")
    assert connection is not None
    live = open_secrets(connection, runtime.box, now=now).webhook
    try:
        verify_webhook_signature(b"{}", signature(b"{}", secret), live)
    except SignalRejectedError:
        return False
    return True


def test_the_old_webhook_secret_verifies_inside_the_window_and_not_after(
    runtime: Runtime, acme: Partner
) -> None:
    rotated = rotate_spark_secret(
        runtime.hub, runtime.box, "acme", SparkSecret.WEBHOOK, overlap_s=3600, now=T0
    )
    assert rotated.retired_until == T0 + 3600
    new = rotated.secret
    assert new != acme.webhook_secret
    for now in (T0, T0 + 3599):
        assert verifies(runtime, acme.webhook_secret, now=now)
        assert verifies(runtime, new, now=now)
    for now in (T0 + 3600, T0 + 86_400):
        assert not verifies(runtime, acme.webhook_secret, now=now)
        assert verifies(runtime, new, now=now)
    connection = spark_connection(runtime.hub, "acme")
    assert connection is not None
    after = open_secrets(connection, runtime.box, now=T0 + 3600)
    assert after.expired_webhook == (acme.webhook_secret,)
    assert after.sso == (acme.sso_secret,), "rotating the webhook secret leaves SSO alone"


def test_a_second_rotation_ends_the_first_one_s_window(runtime: Runtime, acme: Partner) -> None:
    first = rotate_spark_secret(runtime.hub, runtime.box, "acme", SparkSecret.WEBHOOK, now=T0)
    second = rotate_spark_secret(runtime.hub, runtime.box, "acme", SparkSecret.WEBHOOK, now=T0)
    assert not verifies(runtime, acme.webhook_secret, now=T0 + 1)
    assert verifies(runtime, first.secret, now=T0 + 1)
    assert verifies(runtime, second.secret, now=T0 + 1)


def test_over_http_both_webhook_secrets_verify_during_the_default_window(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    response = client.post(ROTATE, headers=admin(), json={"which": "webhook"})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"tenant", "which", "secret", "old_secret_valid_until", "position"}
    assert body["which"] == "webhook"
    assert body["secret"].startswith("sparkwh_")
    assert post_signed(client, ROSTER, roster("u1"), acme.webhook_secret).status_code == 202
    assert post_signed(client, ROSTER, roster("u2"), body["secret"]).status_code == 202


def test_over_http_an_sso_secret_past_its_window_is_refused_and_said_to_be_retired(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    response = client.post(ROTATE, headers=admin(), json={"which": "sso", "overlap_seconds": 0})
    assert response.status_code == 201, response.text
    new = response.json()["secret"]
    assert new.startswith("sparksso_")
    was = before(runtime)
    refused = client.get("/t/acme/spark/sso", params={"token": sso_token(acme.sso_secret)})
    rejection = assert_rejected(
        refused, runtime, was, status=401, reason="token_signature", tenant="acme"
    )
    assert "retired" in rejection.detail
    assert rejection.evidence["retired_secret"] is True
    accepted = client.get("/t/acme/spark/sso", params={"token": sso_token(new)})
    assert accepted.status_code == 303


def test_a_stranger_s_signature_is_not_called_retired(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    client.post(ROTATE, headers=admin(), json={"which": "webhook", "overlap_seconds": 0})
    was = before(runtime)
    response = post_signed(client, ROSTER, roster("u3"), "not-any-secret-of-acme")
    rejection = assert_rejected(
        response, runtime, was, status=401, reason="signature_mismatch", tenant="acme"
    )
    assert "retired" not in rejection.detail
    assert "retired_secret" not in rejection.evidence


@pytest.mark.parametrize(
    "body",
    [
        {"which": "api"},
        {},
        {"which": "sso", "overlap_seconds": -1},
        {"which": "sso", "overlap_seconds": MAX_OVERLAP_S + 1},
        {"which": "sso", "overlap_seconds": "soon"},
    ],
)
def test_bad_rotation_requests_are_422_and_change_nothing(
    client: httpx.Client, runtime: Runtime, acme: Partner, body: dict[str, object]
) -> None:
    was = before(runtime)
    response = client.post(ROTATE, headers=admin(), json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert before(runtime) == was


def test_rotating_a_tenant_without_spark_is_a_404(client: httpx.Client, runtime: Runtime) -> None:
    runtime.hub.register_tenant("lone", "Lone", runtime.box)
    response = client.post(
        "/api/v1/admin/tenants/lone/spark/secrets/rotate", headers=admin(), json={"which": "sso"}
    )
    assert response.status_code == 404
    assert "not connected" in response.json()["detail"]


def test_updating_the_connection_changes_only_what_is_given(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    url = "/api/v1/admin/tenants/acme/spark"
    response = client.patch(
        url,
        headers=admin(),
        json={
            "api_url": "https://spark2.example/api/",
            "allowed_evidence_hosts": ["Files.Example"],
            "api_key": "spark-key-new-0123456789",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["api_url"] == "https://spark2.example/api"
    assert body["allowed_evidence_hosts"] == ["files.example"]
    assert body["webhook_limit_per_minute"] == 100
    assert body["version"] == 2
    assert "spark-key-new" not in response.text
    connection = spark_connection(runtime.hub, "acme")
    assert connection is not None
    assert runtime.box.decrypt(connection.api_key_sealed, context="acme:spark:api") == (
        "spark-key-new-0123456789"
    )
    assert verifies(runtime, acme.webhook_secret, now=T0), "an update keeps the secrets"
    limited = client.patch(url, headers=admin(), json={"webhook_limit_per_minute": 0})
    assert limited.status_code == 422


def test_over_http_both_sso_secrets_sign_in_during_the_window(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    response = client.post(ROTATE, headers=admin(), json={"which": "sso", "overlap_seconds": 600})
    assert response.status_code == 201, response.text
    new = response.json()["secret"]
    for secret in (acme.sso_secret, new):
        signed_in = client.get("/t/acme/spark/sso", params={"token": sso_token(secret)})
        assert signed_in.status_code == 303, signed_in.text
