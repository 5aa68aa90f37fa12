"""HTTP delivery of the Caliper stream on real parts: NATS, the hub's log, a loopback endpoint."""

from __future__ import annotations

import json
from datetime import datetime
from itertools import pairwise
from typing import Any

import pytest

from connectors.caliper_delivery import (
    CONNECTOR,
    NAME,
    CaliperDeliverySettings,
    DeliveryLog,
    StepSchedule,
    batches,
    payload_of,
)
from connectors.caliper_stream import CaliperStream, Published
from connectors.deliveries import redrive
from hub.application import Hub
from hub.domain.deliveries import DEAD, DELIVERED, RETRYING
from infra.jetstream.factory import wire_for
from schemas.caliper_rules import validate_envelope
from tests.caliper.endpoint import FakeEndpoint
from tests.caliper.loops import (
    SCHEDULE,
    TOKEN,
    connect,
    deliveries,
    delivering,
    fast,
    publish,
    settled,
)
from tests.caliper.world import TENANT, tenant
from tests.connectors.spark_fake import hub_cli
from tests.connectors.world import Logs, wait_for


def events_of(logs: Logs, delivery_id: str) -> list[Any]:
    return list(logs.reader(NAME).repository.event_store.get(delivery_id))


def test_batches_reach_the_endpoint_once_with_the_bearer_token(
    env: dict[str, str], hub: Hub, stream: CaliperStream, endpoint: FakeEndpoint, url: str
) -> None:
    connect(hub, url)
    ids = publish(stream, 35)
    with delivering(env):
        found = settled(env, 35, DELIVERED)

    assert sorted(endpoint.delivered_ids()) == sorted(ids)  # each once
    received = endpoint.received()
    assert len(received) == len(found) >= 4  # batches of at most 10
    assert all(len(r.envelope["data"]) <= 10 for r in received)
    for request in received:
        assert request.authorization == f"Bearer {TOKEN}"
        validate_envelope(request.envelope)
        assert request.envelope["sensor"] == f"urn:hub:{TENANT}:sensor:caliper"
    assert all(d.attempts == 1 for d in found)


def test_a_tenant_without_endpoint_or_with_caliper_off_gets_no_delivery(
    env: dict[str, str],
    hub: Hub,
    stream: CaliperStream,
    endpoint: FakeEndpoint,
    url: str,
    logs: Logs,
) -> None:
    tenant(hub, "quiet")  # no endpoint: its envelopes stay on the stream only
    connect(hub, url, "paused", enabled=False)
    connect(hub, url, "loud")
    publish(stream, 3, slug="quiet")
    publish(stream, 3, slug="paused")
    wanted = publish(stream, 3, slug="loud")
    with delivering(env):
        settled(env, 3, DELIVERED)
        wait_for(
            lambda: logs.tracking(NAME, "caliper-stream") >= 9,
            "the batcher to pass every envelope",
        )
    assert [d.tenant for d in deliveries(env)] == ["loud"]
    assert endpoint.delivered_ids() == wanted


@pytest.mark.parametrize("failure", ["500", "timeout", "down"])
def test_an_endpoint_failing_for_the_whole_schedule_retries_on_it_then_dead_letters_all(
    env: dict[str, str],
    hub: Hub,
    stream: CaliperStream,
    endpoint: FakeEndpoint,
    url: str,
    logs: Logs,
    failure: str,
) -> None:
    if failure == "500":
        endpoint.set("fail", status=500)
    elif failure == "timeout":
        endpoint.set("slow", delay_s=1.0)  # the sender waits 0.3 s
    else:
        url = "http://127.0.0.1:9/caliper"  # discard port: nothing listens
    connect(hub, url)
    ids = publish(stream, 15)
    with delivering(env):
        dead = settled(env, 15, DEAD)

    assert len(dead) >= 2  # batches of at most 10
    held = []
    for delivery in dead:
        attempts = [e for e in events_of(logs, delivery.id) if type(e).__name__ == "Attempted"]
        assert [a.outcome for a in attempts] == [RETRYING] * 4 + [DEAD]
        for attempt, delay in zip(attempts, SCHEDULE, strict=False):
            waited = datetime.fromisoformat(attempt.next_attempt_at) - attempt.timestamp
            assert abs(waited.total_seconds() - delay) < 0.05
        for before, after in pairwise(attempts):
            assert after.timestamp >= datetime.fromisoformat(before.next_attempt_at)
        expected = {"500": 500, "timeout": None, "down": None}[failure]
        assert {a.status_code for a in attempts} == {expected}
        scheduled = events_of(logs, delivery.id)[0]
        first, last = scheduled.payload["first_seq"], scheduled.payload["last_seq"]
        count = scheduled.payload["count"]
        stored = stream.read_range(TENANT, first, last, count=count)
        held += [p.envelope["data"][0]["id"] for p in stored]
    assert sorted(held) == sorted(ids)  # the dead letters hold everything not delivered
    assert endpoint.delivered_ids() == []


def test_a_redriven_dead_letter_is_delivered_once(
    env: dict[str, str], hub: Hub, stream: CaliperStream, endpoint: FakeEndpoint, url: str
) -> None:
    endpoint.set("fail", status=400)  # not retryable: dead at once
    connect(hub, url)
    ids = publish(stream, 5)
    with delivering(env):
        dead = settled(env, 5, DEAD)
        assert {d.attempts for d in dead} == {1}
        endpoint.set("ok")
        with DeliveryLog(env) as app:
            ids_ = [d.id for d in dead]
            assert redrive(app, ids_, by="test") == ids_
            assert redrive(app, ids_, by="test") == []  # no longer dead-lettered
        settled(env, 5, DELIVERED)
    assert endpoint.delivered_ids() == ids


def test_a_redrive_after_the_endpoint_is_fixed_goes_to_the_new_url(
    env: dict[str, str], hub: Hub, stream: CaliperStream, endpoint: FakeEndpoint, url: str
) -> None:
    connect(hub, url.replace("/caliper", "/wrong-path"))  # 404: dead at once
    ids = publish(stream, 4)
    with delivering(env):
        dead = settled(env, 4, DEAD)
        assert {d.last_status_code for d in dead} == {404}
        connect(hub, url)  # the admin fixes the URL
        with DeliveryLog(env) as app:
            redrive(app, [d.id for d in dead], by="test")
        settled(env, 4, DELIVERED)
    assert endpoint.delivered_ids() == ids
    assert {r.authorization for r in endpoint.received()} == {f"Bearer {TOKEN}"}


def test_envelopes_gone_from_the_stream_dead_letter_their_delivery_with_why(
    env: dict[str, str],
    hub: Hub,
    stream: CaliperStream,
    endpoint: FakeEndpoint,
    url: str,
    logs: Logs,
) -> None:
    endpoint.set("fail", status=503)
    connect(hub, url)
    publish(stream, 3)
    slow = fast(retry_schedule_s="0.3,0.3")
    with delivering(env, slow):
        wait_for(endpoint.received, "a first attempt")
        wire = wire_for(stream.connection)
        stream.connection.run(lambda: wire.api(f"STREAM.PURGE.{stream.name}"))  # as if expired
        endpoint.set("ok")
        dead = settled(env, 3, DEAD)
    last = events_of(logs, dead[0].id)[-1]
    assert "no longer on the Caliper stream (past its retention)" in last.error
    assert endpoint.delivered_ids() == []


def test_restarted_loops_neither_lose_nor_repeat_a_batch(
    env: dict[str, str],
    hub: Hub,
    stream: CaliperStream,
    endpoint: FakeEndpoint,
    url: str,
    logs: Logs,
) -> None:
    connect(hub, url)
    first = publish(stream, 12)
    with delivering(env):
        settled(env, 12, DELIVERED)
    later = publish(stream, 12, start=100)
    with delivering(env):
        settled(env, 24, DELIVERED)
    ranges = sorted(
        (scheduled.payload["first_seq"], scheduled.payload["last_seq"])
        for scheduled in (events_of(logs, d.id)[0] for d in deliveries(env))
    )
    covered = [seq for first, last in ranges for seq in range(first, last + 1)]
    assert covered == list(range(1, 25))  # each envelope in exactly one batch
    assert all(last - first < 10 for first, last in ranges)
    assert sorted(endpoint.delivered_ids()) == sorted(first + later)


def test_the_schedule_is_its_delays_then_dead_letter() -> None:
    schedule = CaliperDeliverySettings().schedule()
    assert schedule.delays == (60.0, 300.0, 900.0, 3600.0)
    assert schedule.max_attempts == 5
    assert [schedule.delay(n) for n in range(1, 6)] == [60.0, 300.0, 900.0, 3600.0, 3600.0]
    assert schedule.delay(1, retry_after=120) == 120  # a longer Retry-After wins
    assert schedule.delay(2, retry_after=1) == 300
    with pytest.raises(ValueError, match="one or more delays"):
        StepSchedule.of([])


def test_batches_are_cut_by_tenant_count_and_size() -> None:
    def item(seq: int, slug: str, size: int = 10) -> Published:
        raw = json.dumps({"sensor": "urn:s:1", "data": [{"x": "y" * size}]}, separators=(",", ":"))
        return Published(seq, slug, "SessionEvent", raw.encode())

    read = [item(1, "a"), item(2, "b"), item(3, "a"), item(4, "a"), item(5, "b", 200)]
    cut = batches(read, max_events=2, max_bytes=100)
    assert [(b.tenant, [i.seq for i in b.items], b.key) for b in cut] == [
        ("a", [1, 3], "1-3"),
        ("a", [4], "4-4"),
        ("b", [2], "2-2"),
        ("b", [5], "5-5"),
    ]
    payload = payload_of(cut[0])
    assert payload == {"sensor": "urn:s:1", "count": 2, "first_seq": 1, "last_seq": 3}


def test_an_envelope_is_batched_without_parsing_its_events(stream: CaliperStream) -> None:
    ids = publish(stream, 2)
    first, second = stream.read(0)
    joined = json.loads(b"[" + first.events_json + b"," + second.events_json + b"]")
    assert [e["id"] for e in joined] == ids
    assert joined == [first.envelope["data"][0], second.envelope["data"][0]]


def test_hub_deliveries_lists_and_redrives_caliper_dead_letters(
    env: dict[str, str], hub: Hub, stream: CaliperStream, endpoint: FakeEndpoint, url: str
) -> None:
    endpoint.set("fail", status=401)  # a wrong token: dead at once, until fixed and redriven
    connect(hub, url)
    ids = publish(stream, 3)
    with delivering(env):
        dead = settled(env, 3, DEAD)
        listing = ("deliveries", "list", "--connector", CONNECTOR, "--status", DEAD)
        listed = hub_cli(*listing, env=env, secret_key="-")
        assert listed.returncode == 0, listed.stderr
        rows = [line.split() for line in listed.stdout.splitlines() if ".Delivery." in line]
        assert sorted(row[0] for row in rows) == sorted(d.id for d in dead)
        assert all(row[1:4] == [DEAD, "1", "401"] for row in rows)
        endpoint.set("ok")
        redriven = hub_cli(
            "deliveries", "redrive", "--connector", CONNECTOR, env=env, secret_key="-"
        )
        assert redriven.returncode == 0, redriven.stderr
        assert all(f"redriven  {d.id}" in redriven.stdout for d in dead)
        settled(env, 3, DELIVERED)
    assert endpoint.delivered_ids() == ids
