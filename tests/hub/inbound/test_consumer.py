"""Spark signals on NATS: stored once, acknowledged after, refused with an audit record."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from hub.bootstrap import Runtime
from hub.domain.learners import Learner
from hub.domain.submissions import Submission
from hub.inbound import consumer
from hub.spark.ingress import Gate, IngressLimits
from hub.spark.signals import Accepted
from tests.hub.inbound.publisher import Publisher, answer, consuming, publisher
from tests.hub.spark.signals import Partner, audit, head, submission

PROBLEMS = "https://hub.example/problems/"


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


async def assert_gone_for_good(partner: Publisher, kind: str) -> None:
    """Acknowledged: not in the stream, not waiting for an ack, not being redelivered."""
    stream = await partner.stream()
    assert stream.state.messages == 0
    info = await partner.consumer(kind)
    assert info.num_ack_pending == 0
    assert info.num_redelivered == 0
    assert info.num_pending == 0


def test_a_signed_submission_is_stored_once_even_when_published_twice(
    runtime: Runtime, acme: Partner
) -> None:
    async def scenario() -> None:
        start = head(runtime)
        async with publisher(runtime) as partner, consuming(runtime):
            first = await answer(
                await partner.publish("acme", "submission", submission(), acme.webhook_secret)
            )
            again = await answer(
                await partner.publish("acme", "submission", submission(), acme.webhook_secret)
            )
            await assert_gone_for_good(partner, "submission")
        assert first["status"] == again["status"] == 202
        assert again["result"] == first["result"]
        assert first["result"]["position"] == head(runtime) == start + 1
        stored: Submission = runtime.hub.repository.get(first["result"]["submission_id"])
        assert stored.learner_key == "spark_user_123"
        event = next(iter(runtime.hub.repository.event_store.get(stored.id)))
        verified = event.verified  # type: ignore[attr-defined]
        assert verified["signature_header"] == "X-Spark-Signature"
        assert verified["transport"] == "nats"
        assert verified["request_id"] == "nats-1"  # the first message of a fresh stream
        assert event.context["verified_by"] == "hmac-sha256"  # type: ignore[attr-defined]
        assert event.context["source"] == "spark"  # type: ignore[attr-defined]

    run(scenario)


def test_a_republished_message_id_is_dropped_by_the_stream(runtime: Runtime, acme: Partner) -> None:
    async def scenario() -> None:
        async with publisher(runtime) as partner:
            async with consuming(runtime):
                pass  # the stream and its consumers exist; nothing consumes now
            body = json.dumps(submission()).encode()
            await partner.publish("acme", "submission", body, acme.webhook_secret, msg_id="s-1")
            await partner.publish("acme", "submission", body, acme.webhook_secret, msg_id="s-1")
            assert (await partner.stream()).state.messages == 1

    run(scenario)


def test_a_roster_change_published_on_nats_enrols_the_learner(
    runtime: Runtime, acme: Partner
) -> None:
    change = {"spark_user_id": "u-9", "spark_course_id": "course_789", "action": "enroll"}

    async def scenario() -> None:
        async with publisher(runtime) as partner, consuming(runtime):
            verdict = await answer(
                await partner.publish("acme", "roster", change, acme.webhook_secret)
            )
            await assert_gone_for_good(partner, "roster")
        assert verdict["status"] == 202
        assert verdict["result"]["changed"] is True
        learner: Learner = runtime.hub.repository.get(verdict["result"]["learner_id"])
        assert learner.is_enrolled(verdict["result"]["quest_id"])

    run(scenario)


BAD = {
    "forged signature": ("acme", submission(), "not-the-secret", "signature_mismatch", 401),
    "no signature": ("acme", submission(), None, "signature_missing", 401),
    "malformed JSON": ("acme", b'{"spark_user_id": ', "acme", "malformed_json", 400),
    "missing fields": ("acme", {"spark_user_id": "u"}, "acme", "missing_fields", 422),
    "another tenant's secret": ("acme", submission(), "beta", "signature_mismatch", 401),
    "unknown tenant": ("nobody", submission(), "acme", "unknown_tenant", 404),
    "oversized": ("acme", submission(submission_text="x" * 5000), "acme", "body_too_large", 413),
}


@pytest.mark.parametrize(("tenant", "body", "signed_by", "reason", "status"), BAD.values(), ids=BAD)
def test_a_bad_message_is_audited_answered_and_never_redelivered(
    runtime: Runtime,
    acme: Partner,
    beta: Partner,
    tenant: str,
    body: dict[str, Any] | bytes,
    signed_by: str | None,
    reason: str,
    status: int,
) -> None:
    secrets = {"acme": acme.webhook_secret, "beta": beta.webhook_secret}
    secret = secrets.get(signed_by, signed_by) if signed_by else None
    start, audited = head(runtime), len(audit(runtime))
    limits = IngressLimits(max_body_bytes=4096)

    async def scenario() -> None:
        async with publisher(runtime) as partner, consuming(runtime, limits):
            verdict = await answer(await partner.publish(tenant, "submission", body, secret))
            await assert_gone_for_good(partner, "submission")
        assert verdict["status"] == status
        assert verdict["problem"]["type"] == PROBLEMS + reason.replace("_", "-")
        assert verdict["problem"]["reason"] == reason

    run(scenario)
    assert head(runtime) == start, "a refused message recorded an event"
    new = audit(runtime)[audited:]
    expected_tenant = "_unknown" if tenant == "nobody" else tenant
    assert [(r.tenant, r.kind, r.reason) for r in new] == [(expected_tenant, "submission", reason)]
    evidence = new[0].evidence
    assert evidence["method"] == "NATS"
    assert evidence["path"] == f"{runtime.settings.stream_prefix}.inbound.{tenant}.spark.submission"
    assert evidence["delivered"] == 1
    for value in secrets.values():
        assert value not in json.dumps(evidence)


def test_a_message_published_while_the_hub_is_down_is_handled_when_it_returns(
    runtime: Runtime, acme: Partner
) -> None:
    async def scenario() -> None:
        async with publisher(runtime) as partner:
            async with consuming(runtime):
                pass  # it ran once (stream and durable consumers made), then stopped
            start = head(runtime)
            verdict = await partner.publish("acme", "submission", submission(), acme.webhook_secret)
            assert (await partner.stream()).state.messages == 1
            assert head(runtime) == start, "nothing consumes while the hub is down"
            async with consuming(runtime):
                answered = await answer(verdict)
                await assert_gone_for_good(partner, "submission")
        assert answered["status"] == 202
        assert answered["result"]["position"] == head(runtime) == start + 1

    run(scenario)


def test_an_unexpected_error_is_retried_and_the_message_then_stored(
    runtime: Runtime, acme: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    accept = consumer.ACCEPTORS["submission"]

    async def crash_once(gate: Gate, tenant: str) -> Accepted[Any]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return await accept(gate, tenant)

    monkeypatch.setattr(consumer, "RETRY_DELAY_S", 0.1)
    monkeypatch.setitem(consumer.ACCEPTORS, "submission", crash_once)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with publisher(runtime) as partner, consuming(runtime):
            verdicts = await partner.publish(
                "acme", "submission", submission(), acme.webhook_secret
            )
            first, second = await answer(verdicts), await answer(verdicts)
            await assert_gone_for_good(partner, "submission")
        return first, second

    start = head(runtime)
    first, second = asyncio.run(scenario())
    assert first["status"] == 503
    assert first["problem"]["detail"].endswith("it will retry")
    assert second["status"] == 202
    assert second["result"]["position"] == head(runtime) == start + 1
    assert len(calls) == 2


def test_roster_changes_apply_in_the_order_published(runtime: Runtime, acme: Partner) -> None:
    enrol = {"spark_user_id": "u-7", "spark_course_id": "c-7", "action": "enroll"}
    drop = {**enrol, "action": "drop"}

    async def scenario() -> list[dict[str, Any]]:
        async with publisher(runtime) as partner:
            async with consuming(runtime):
                pass  # the stream exists; both wait there, then are consumed together
            secret = acme.webhook_secret
            sent = [await partner.publish("acme", "roster", c, secret) for c in (enrol, drop)]
            async with consuming(runtime):
                return [await answer(verdicts) for verdicts in sent]

    enrolled, dropped = asyncio.run(scenario())
    assert enrolled["status"] == dropped["status"] == 202
    assert (enrolled["result"]["changed"], dropped["result"]["changed"]) == (True, True), (
        enrolled,
        dropped,
    )
    learner: Learner = runtime.hub.repository.get(enrolled["result"]["learner_id"])
    assert not learner.is_enrolled(enrolled["result"]["quest_id"])
