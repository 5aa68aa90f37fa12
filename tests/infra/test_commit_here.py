"""The one-event commit awaited on the caller's own loop (`insert_events_here`, `Hub.save_async`).

The same guarantees as the synchronous path: the server checks the aggregate's last
sequence, a conflict is an IntegrityError with nothing written, a lost answer is read
back (never written twice), and whatever needs a lookup or a batch goes to a thread.
"""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from hub.application import Hub
from hub.domain.tenants import Tenant
from infra.jetstream.loop_wires import close_wires_here, wire_here
from infra.nats_client import NatsConnection, encode_headers
from infra.secrets import SecretBox
from tests.infra.test_durability import AckLoss, app_recorder, event, stream_messages


@pytest.fixture
def loss(monkeypatch: pytest.MonkeyPatch) -> AckLoss:
    return AckLoss(monkeypatch)


def hub_env(nats_url: str, prefix: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "infra.jetstream",
        "NATS_URL": nats_url,
        "NATS_STREAM_PREFIX": prefix,
    }


def test_one_event_commits_on_the_loops_own_client(nats_url: str, stream_prefix: str) -> None:
    connection = NatsConnection.shared(nats_url)
    recorder = app_recorder(connection, stream_prefix)
    aggregate = uuid4()

    async def commit() -> tuple[list[int], list[int], bool]:
        try:
            first = await recorder.insert_events_here([event(aggregate, 1)])
            second = await recorder.insert_events_here([event(aggregate, 2)])  # seen: no lookup
            own = (await wire_here(connection)).client is not connection.client
            return first, second, own
        finally:
            await close_wires_here()

    first, second, own_client = asyncio.run(commit())
    assert (first, second) == ([1], [2])
    assert own_client  # not the connection thread's client
    versions = [e.originator_version for e in recorder.select_events(aggregate)]
    assert versions == [1, 2]


def test_a_conflict_on_the_loop_writes_nothing(nats_url: str, stream_prefix: str) -> None:
    connection = NatsConnection.shared(nats_url)
    recorder, other = (
        app_recorder(connection, stream_prefix),
        app_recorder(connection, stream_prefix),
    )
    aggregate = uuid4()
    other.insert_events([event(aggregate, 1)])  # another process wrote version 1

    async def commit() -> None:
        try:
            await recorder.insert_events_here([event(aggregate, 1, b'{"late":1}')])
        finally:
            await close_wires_here()

    with pytest.raises(IntegrityError):
        asyncio.run(commit())
    assert len(stream_messages(connection, recorder)) == 1


def test_a_lost_answer_on_the_loop_is_read_back_not_written_twice(
    nats_url: str, stream_prefix: str, loss: AckLoss
) -> None:
    connection = NatsConnection.shared(nats_url)
    recorder = app_recorder(connection, stream_prefix)
    aggregate = uuid4()
    loss.armed = 1

    async def commit() -> list[int]:
        try:
            return await recorder.insert_events_here([event(aggregate, 1)])
        finally:
            await close_wires_here()

    assert asyncio.run(commit()) == [1]
    assert loss.armed == 0  # the answer really was lost
    assert len(stream_messages(connection, recorder)) == 1


def test_commits_that_need_a_lookup_or_a_batch_go_through_the_thread(
    nats_url: str, stream_prefix: str
) -> None:
    connection = NatsConnection.shared(nats_url)
    writer = app_recorder(connection, stream_prefix)
    aggregate, batch = uuid4(), uuid4()
    writer.insert_events([event(aggregate, 1)])
    cold = app_recorder(connection, stream_prefix)  # has not seen the aggregate

    async def commit() -> tuple[list[int], list[int]]:
        try:
            appended = await cold.insert_events_here([event(aggregate, 2)])
            batched = await cold.insert_events_here([event(batch, 1), event(batch, 2)])
            return appended, batched
        finally:
            await close_wires_here()

    assert asyncio.run(commit()) == ([2], [3, 4])


def test_hub_save_async_records_what_save_would(nats_url: str, stream_prefix: str) -> None:
    hub = Hub(env=hub_env(nats_url, stream_prefix))
    box = SecretBox.from_text("save-async")
    tenant = Tenant("school", "School", "hash", box.encrypt("x", context="school:webhook"))

    async def save() -> list[int]:
        try:
            recordings = await hub.save_async(tenant)
            return [r.notification.id for r in recordings]
        finally:
            await close_wires_here()

    assert asyncio.run(save()) == [1]
    found = hub.tenant("school")
    assert found is not None
    assert (found.name, found.version) == ("School", 1)
    hub.close()


def test_header_blocks_refuse_line_breaks() -> None:
    assert encode_headers({"A": "1", "B": "two"}) == b"NATS/1.0\r\nA: 1\r\nB: two\r\n\r\n"
    with pytest.raises(ValueError, match="line break"):
        encode_headers({"A": "1\r\nInjected: yes"})
    with pytest.raises(ValueError, match="line break"):
        encode_headers({"A": "1\n"})
