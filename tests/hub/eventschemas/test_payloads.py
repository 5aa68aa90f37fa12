"""Stored events against their schemas: the Spark flows conform, a wrong payload is caught.

Every test that uses the `stream_prefix` fixture checks its stored events the same way
when it ends (tests/conftest.py); these tests show that the check sees what it should.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from hub.bootstrap import Runtime, build_runtime
from hub.domain.submissions import Submission
from infra.settings import Settings
from tests.conftest import drop_streams, new_prefix
from tests.event_payloads import check_stored_events
from tests.hub.spark.signals import Partner, post_signed, sso_token, submission


def test_the_spark_flows_store_events_that_conform_to_their_schemas(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    signed_in = client.get("/t/acme/spark/sso", params={"token": sso_token(acme.sso_secret)})
    assert signed_in.status_code == 303
    sent = post_signed(
        client, "/t/acme/spark/webhook/submission", submission(), acme.webhook_secret
    )
    assert sent.status_code == 202
    change = {"spark_user_id": "u-2", "spark_course_id": "c-1", "action": "enroll"}
    enrolled = post_signed(client, "/t/acme/spark/webhook/roster", change, acme.webhook_secret)
    assert enrolled.status_code == 202
    checked = check_stored_events(runtime.nats_url, runtime.settings.stream_prefix)
    assert checked.problems == []
    assert {
        "Tenant.Registered",
        "SparkConnection.Connected",
        "SsoToken.Accepted",
        "Learner.Registered",
        "Identity.Claimed",
        "Submission.Received",
        "Learner.Enrolled",
    } <= set(checked.counts)


def test_a_payload_that_breaks_its_schema_is_reported(nats_url: str, tmp_path: Path) -> None:
    # A prefix of its own: the `stream_prefix` fixture's check would fail this test.
    prefix = new_prefix()
    runtime = build_runtime(Settings(data_dir=tmp_path, stream_prefix=prefix), nats_url)
    try:
        wrong = Submission(
            tenant="acme",
            source="spark",
            learner_key="u-1",
            assignment_key="a-1",
            submitted_at="2025-01-15T14:30:00+00:00",
            course_key="c-1",
            text="essay",
            files=[],
            grade="ninety",  # type: ignore[arg-type]
            verified={},
        )
        runtime.hub.save(wrong)
        checked = check_stored_events(nats_url, prefix)
    finally:
        runtime.hub.close()
        drop_streams(nats_url, prefix)
    assert checked.counts == {"Submission.Received": 1}
    assert len(checked.problems) == 1
    assert checked.problems[0].startswith("Submission.Received at grade:")
