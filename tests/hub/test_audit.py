"""The audit stream: one message per rejection, hashes in place of secrets, read back by tenant."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict

from hub.audit import audit_subject, record_rejection, rejections, request_evidence
from infra.jetstream.factory import ensure_streams
from infra.nats_client import NatsConnection


def test_rejections_are_stored_per_tenant_and_read_back_in_order(
    nats_url: str, stream_prefix: str
) -> None:
    connection = NatsConnection.shared(nats_url)
    ensure_streams(connection, stream_prefix)
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
    evidence = request_evidence(
        request_id="r1",
        remote_addr="203.0.113.9",
        method="GET",
        path="/t/acme/spark/sso",
        body=b"{}",
        token_value=token,
    )

    async def record() -> list[int]:
        return [
            await record_rejection(
                connection,
                stream_prefix,
                "acme",
                "sso",
                "token_expired",
                "the token has expired",
                evidence,
            ),
            await record_rejection(
                connection,
                stream_prefix,
                None,
                "submission",
                "unknown_tenant",
                "no tenant 'x'",
                {"request_id": "r2"},
            ),
            await record_rejection(
                connection,
                stream_prefix,
                "acme",
                "roster",
                "signature_missing",
                "no signature",
                {"request_id": "r3"},
            ),
        ]

    positions = asyncio.run(record())
    assert positions == sorted(positions)
    acme = rejections(connection, stream_prefix, "acme")
    assert [(r.kind, r.reason) for r in acme] == [
        ("sso", "token_expired"),
        ("roster", "signature_missing"),
    ]
    first = acme[0]
    assert first.evidence["token_sha256"] != token
    assert len(first.evidence["token_sha256"]) == 64
    assert first.evidence["body_size"] == 2
    assert token not in json.dumps(asdict(first))
    unknown = rejections(connection, stream_prefix, "_unknown")
    assert [(r.tenant, r.reason) for r in unknown] == [("_unknown", "unknown_tenant")]
    assert len(rejections(connection, stream_prefix)) == 3
    assert len(rejections(connection, stream_prefix, limit=1)) == 1
    assert [r.reason for r in rejections(connection, stream_prefix, after=positions[1])] == [
        "signature_missing"
    ]
    assert [r.reason for r in rejections(connection, stream_prefix, kind="sso")] == [
        "token_expired"
    ]


def test_the_subject_names_tenant_and_kind() -> None:
    assert audit_subject("hub", "acme", "sso") == "hub.audit.acme.sso"
    assert audit_subject("hub", None, "submission") == "hub.audit._unknown.submission"
