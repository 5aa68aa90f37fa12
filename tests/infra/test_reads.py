"""Reading an aggregate after a version starts where this process saw it, and misses nothing."""

from __future__ import annotations

from uuid import uuid4

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import Environment

from infra.jetstream import JetStreamFactory
from infra.jetstream.recorders import JetStreamApplicationRecorder
from infra.nats_client import NatsConnection


def recorder(url: str, prefix: str) -> JetStreamApplicationRecorder:
    factory = JetStreamFactory(
        Environment("reads", {"NATS_URL": url, "NATS_STREAM_PREFIX": prefix})
    )
    made = factory.application_recorder()
    assert isinstance(made, JetStreamApplicationRecorder)
    return made


def event(originator: object, version: int) -> StoredEvent:
    return StoredEvent(originator_id=originator, originator_version=version, topic="t", state=b"{}")  # type: ignore[arg-type]


def test_events_after_a_version_include_other_writers_appends(
    nats_url: str, stream_prefix: str
) -> None:
    mine = recorder(nats_url, stream_prefix)
    other_connection = NatsConnection(nats_url)  # another process's connection and caches
    try:
        factory = JetStreamFactory(
            Environment("reads", {"NATS_URL": nats_url, "NATS_STREAM_PREFIX": stream_prefix})
        )
        theirs = JetStreamApplicationRecorder(other_connection, factory._subjects(other_connection))
        aggregate, noise = uuid4(), uuid4()
        mine.insert_events([event(aggregate, 1), event(aggregate, 2)])
        assert [e.originator_version for e in mine.select_events(aggregate)] == [1, 2]
        # Others write in between, and append to the aggregate behind this process's back.
        theirs.insert_events([event(noise, 1)])
        theirs.insert_events([event(aggregate, 3)])
        theirs.insert_events([event(noise, 2)])
        theirs.insert_events([event(aggregate, 4)])
        after = mine.select_events(aggregate, gt=2)
        assert [e.originator_version for e in after] == [3, 4]
        assert mine.select_events(aggregate, gt=4) == []
        # A version this process never saw as the newest: read from the start, filtered.
        assert [e.originator_version for e in mine.select_events(aggregate, gt=1)] == [2, 3, 4]
    finally:
        other_connection.close()
