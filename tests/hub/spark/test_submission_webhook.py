"""The submission webhook: signed, checked whole, then one event; every rejection audited alone."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hub.bootstrap import Runtime
from hub.domain.submissions import Submission
from hub.spark.evidence import MAX_FILE_BYTES
from hub.spark.ingress import MAX_BODY_BYTES
from tests.hub.spark.checks import assert_rejected, before, blobs
from tests.hub.spark.conftest import connect
from tests.hub.spark.signals import (
    PDF,
    PNG,
    Partner,
    embedded,
    head,
    post_signed,
    signature,
    submission,
)

URL = "/t/acme/spark/webhook/submission"


def stored(runtime: Runtime, submission_id: str) -> Submission:
    found: Submission = runtime.hub.repository.get(submission_id)
    return found


def test_a_signed_submission_is_one_event_answered_202_with_its_position(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    start = head(runtime)
    response = post_signed(
        client, URL, submission(), acme.webhook_secret, **{"X-Request-ID": "req-1"}
    )
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"submission_id", "position"}
    assert body["position"] == head(runtime) == start + 1
    received = stored(runtime, body["submission_id"])
    assert received.learner_key == "spark_user_123"
    assert received.assignment_key == "assignment_456"
    assert received.submitted_at == "2025-01-15T14:30:00+00:00"
    assert received.grade == 95.5
    assert received.files == [
        {
            "url": "https://spark-storage.example/temp/file_abc?expires=1",
            "type": "application/pdf",
            "filename": "essay.pdf",
        }
    ]
    event = next(iter(runtime.hub.repository.event_store.get(received.id)))
    verified = event.verified  # type: ignore[attr-defined]
    assert verified["signature_scheme"] == "hmac-sha256"
    assert verified["secret_index"] == 0
    assert verified["request_id"] == "req-1"
    assert verified["transport"] == "http"
    assert len(verified["body_sha256"]) == 64
    assert event.context["verified_by"] == "hmac-sha256"  # type: ignore[attr-defined]


def test_a_redelivery_is_the_same_submission_and_one_event(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    first = post_signed(client, URL, submission(), acme.webhook_secret)
    # Spark retries; the time written another way is the same instant.
    again = post_signed(
        client, URL, submission(submitted_at="2025-01-15T14:30:00+00:00"), acme.webhook_secret
    )
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert head(runtime) == first.json()["position"]


def test_the_generic_route_takes_the_tenant_from_a_header_or_the_query(
    client: httpx.Client, acme: Partner
) -> None:
    by_header = post_signed(
        client,
        "/spark/webhook/submission",
        submission(),
        acme.webhook_secret,
        **{"X-Hub-Tenant": "acme"},
    )
    by_query = post_signed(
        client,
        "/spark/webhook/submission?tenant=acme",
        submission(spark_assignment_id="other"),
        acme.webhook_secret,
    )
    assert by_header.status_code == by_query.status_code == 202


def test_embedded_files_are_stored_as_blobs_before_the_event(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    files = [embedded(PNG), embedded(PDF, "application/pdf", "essay.pdf")]
    response = post_signed(client, URL, submission(submission_files=files), acme.webhook_secret)
    assert response.status_code == 202
    entries = stored(runtime, response.json()["submission_id"]).files
    assert [e["type"] for e in entries] == ["image/png", "application/pdf"]
    assert all(e["embedded"] is True for e in entries)
    assert [e["size"] for e in entries] == [len(PNG), len(PDF)]
    assert {p.name for p in blobs(runtime)} == {e["blob"] for e in entries}


def test_a_url_of_an_allow_listed_host_is_accepted(client: httpx.Client, runtime: Runtime) -> None:
    partner = connect(runtime, "local", allowed_evidence_hosts=["127.0.0.1"])
    files = [{"url": "http://127.0.0.1:9/file.pdf", "type": "application/pdf", "filename": "f.pdf"}]
    response = post_signed(
        client,
        "/t/local/spark/webhook/submission",
        submission(submission_files=files),
        partner.webhook_secret,
    )
    assert response.status_code == 202


def _chunks(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), 1 << 20):
        yield body[start : start + (1 << 20)]


def _big_body() -> bytes:
    text = "x" * (MAX_BODY_BYTES + 1)
    return json.dumps(submission(submission_text=text)).encode()


REJECTIONS: dict[str, tuple[int, Any]] = {
    # reason: (status, how to send it)
    "signature_missing": (401, lambda c, s: c.post(URL, content=json.dumps(submission()))),
    "signature_mismatch": (
        401,
        lambda c, s: post_signed(c, URL, submission(), "not-the-webhook-secret"),
    ),
    "malformed_json": (400, lambda c, s: post_signed(c, URL, b'{"spark_user_id": ', s)),
    "missing_fields": (
        422,
        lambda c, s: post_signed(
            c, URL, {k: v for k, v in submission().items() if k != "spark_assignment_id"}, s
        ),
    ),
    "invalid_fields": (422, lambda c, s: post_signed(c, URL, submission(grade=-1), s)),
    "body_too_large": (413, lambda c, s: post_signed(c, URL, _big_body(), s)),
    "evidence_url_blocked": (
        422,
        lambda c, s: post_signed(
            c,
            URL,
            submission(
                submission_files=[
                    {"url": "http://127.0.0.1/x", "type": "application/pdf", "filename": "x.pdf"}
                ]
            ),
            s,
        ),
    ),
    "file_too_large": (
        413,
        lambda c, s: post_signed(
            c, URL, submission(submission_files=[embedded(PNG + b"\x00" * MAX_FILE_BYTES)]), s
        ),
    ),
    "file_type_mismatch": (
        422,
        lambda c, s: post_signed(
            c, URL, submission(submission_files=[embedded(PDF, "image/png")]), s
        ),
    ),
    "file_type_unsupported": (
        422,
        lambda c, s: post_signed(
            c,
            URL,
            submission(submission_files=[embedded(b"MZ\x90\x00", "application/x-msdownload")]),
            s,
        ),
    ),
    "file_base64_invalid": (
        422,
        lambda c, s: post_signed(
            c,
            URL,
            submission(
                submission_files=[
                    {"content_base64": "***", "type": "image/png", "filename": "p.png"}
                ]
            ),
            s,
        ),
    ),
    "file_source_invalid": (
        422,
        lambda c, s: post_signed(
            c, URL, submission(submission_files=[{"type": "image/png", "filename": "p.png"}]), s
        ),
    ),
}


@pytest.mark.parametrize("reason", sorted(REJECTIONS))
def test_each_bad_submission_gets_its_problem_and_an_audit_record_and_nothing_else(
    client: httpx.Client, runtime: Runtime, acme: Partner, reason: str
) -> None:
    status, send = REJECTIONS[reason]
    was = before(runtime)
    response = send(client, acme.webhook_secret)
    rejection = assert_rejected(
        response,
        runtime,
        was,
        status=status,
        reason=reason,
        tenant="acme",
        secret=acme.webhook_secret,
    )
    assert rejection.kind == "submission"


def test_a_body_changed_after_signing_is_refused(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    signed = json.dumps(submission()).encode()
    changed = json.dumps(submission(grade=100)).encode()
    was = before(runtime)
    response = client.post(
        URL, content=changed, headers={"X-Spark-Signature": signature(signed, acme.webhook_secret)}
    )
    rejection = assert_rejected(
        response, runtime, was, status=401, reason="signature_mismatch", tenant="acme"
    )
    assert rejection.evidence["body_size"] == len(changed)
    assert response.headers["www-authenticate"].startswith("HMAC-SHA256")


def test_missing_fields_are_listed(client: httpx.Client, acme: Partner) -> None:
    response = post_signed(client, URL, {"spark_user_id": "u"}, acme.webhook_secret)
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"spark_assignment_id", "spark_course_id", "submitted_at"}


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "169.254.169.254", "[::1]", "localhost", "10.0.0.8"]
)
def test_evidence_urls_at_refused_addresses_are_a_422(
    client: httpx.Client, runtime: Runtime, acme: Partner, address: str
) -> None:
    files = [
        embedded(PNG),
        {"url": f"http://{address}/latest/meta-data", "type": "image/png", "filename": "p.png"},
    ]
    was = before(runtime)
    response = post_signed(client, URL, submission(submission_files=files), acme.webhook_secret)
    assert_rejected(
        response, runtime, was, status=422, reason="evidence_url_blocked", tenant="acme"
    )  # and the valid embedded file before it was not stored


def test_an_oversized_body_sent_in_chunks_is_refused_without_reading_past_the_limit(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    body = _big_body()
    was = before(runtime)
    response = client.post(
        URL,
        content=_chunks(body),
        headers={"X-Spark-Signature": signature(body, acme.webhook_secret)},
    )
    rejection = assert_rejected(
        response, runtime, was, status=413, reason="body_too_large", tenant="acme"
    )
    assert "body_sha256" not in rejection.evidence  # it was never read whole
    assert MAX_BODY_BYTES < rejection.evidence["read"] <= MAX_BODY_BYTES + (1 << 20)


def test_a_webhook_signed_for_tenant_a_is_refused_at_tenant_b(
    client: httpx.Client, runtime: Runtime, acme: Partner, beta: Partner
) -> None:
    was = before(runtime)
    response = post_signed(
        client, "/t/beta/spark/webhook/submission", submission(), acme.webhook_secret
    )
    assert_rejected(response, runtime, was, status=401, reason="signature_mismatch", tenant="beta")


def test_an_unknown_tenant_is_a_404(client: httpx.Client, runtime: Runtime) -> None:
    was = before(runtime)
    response = post_signed(client, "/t/nobody/spark/webhook/submission", submission(), "s")
    assert_rejected(response, runtime, was, status=404, reason="unknown_tenant", tenant=None)


def test_base64_with_line_breaks_is_accepted(client: httpx.Client, acme: Partner) -> None:
    wrapped = base64.encodebytes(PNG).decode()  # MIME style: a newline every 76 characters
    files = [{"content_base64": wrapped, "type": "image/png", "filename": "p.png"}]
    response = post_signed(client, URL, submission(submission_files=files), acme.webhook_secret)
    assert response.status_code == 202
