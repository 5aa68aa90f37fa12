"""The infrastructure factory that eventsourcing selects with PERSISTENCE_MODULE=infra.jetstream.

Environment (read through the application's environment, so per-application
prefixes work as for the library's own modules):

    NATS_URL            the server (required)
    NATS_STREAM_PREFIX  subject prefix and stream names (default "hub")
    NATS_TIMEOUT        seconds to wait for an acknowledgement (default 2)
    CREATE_TABLE        "false" to skip creating the streams (the library's own name)
"""

from __future__ import annotations

import threading
import weakref

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    TrackingRecorder,
)
from eventsourcing.utils import resolve_topic, strtobool

from infra.jetstream.recorders import (
    JetStreamAggregateRecorder,
    JetStreamApplicationRecorder,
    JetStreamProcessRecorder,
    JetStreamTrackingRecorder,
)
from infra.jetstream.subjects import Subjects, stream_configs, token
from infra.jetstream.wire import Wire
from infra.nats_client import NatsConnection

_wires: weakref.WeakKeyDictionary[NatsConnection, Wire] = weakref.WeakKeyDictionary()
_streams_ready: set[tuple[str, str]] = set()
_lock = threading.Lock()


def wire_for(connection: NatsConnection) -> Wire:
    with _lock:
        wire = _wires.get(connection)
        if wire is None:
            wire = Wire(connection.client, connection.timeout)
            _wires[connection] = wire
        return wire


def ensure_streams(connection: NatsConnection, prefix: str) -> None:
    """Create or update the prefix's streams, once per process."""
    key = (connection.url, prefix)
    if key in _streams_ready:
        return
    wire = wire_for(connection)
    for config in stream_configs(prefix):
        connection.run(lambda c=config: wire.ensure_stream(c), timeout=10)  # type: ignore[misc]
    _streams_ready.add(key)


def forget_streams(connection: NatsConnection, prefix: str) -> None:
    _streams_ready.discard((connection.url, prefix))


class JetStreamFactory(InfrastructureFactory[TrackingRecorder]):
    NATS_URL = "NATS_URL"
    NATS_STREAM_PREFIX = "NATS_STREAM_PREFIX"
    NATS_TIMEOUT = "NATS_TIMEOUT"
    CREATE_TABLE = "CREATE_TABLE"

    def _connection(self) -> NatsConnection:
        url = self.env.get(self.NATS_URL)
        if not url:
            msg = "NATS_URL is not set: the JetStream event store needs a server"
            raise OSError(msg)
        return NatsConnection.shared(url, timeout=float(self.env.get(self.NATS_TIMEOUT, "2")))

    def _subjects(self, connection: NatsConnection) -> Subjects:
        prefix = self.env.get(self.NATS_STREAM_PREFIX, "hub")
        if strtobool(self.env.get(self.CREATE_TABLE, "true")):
            ensure_streams(connection, prefix)
        return Subjects(prefix=prefix, app=token(self.env.name or "app"))

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        connection = self._connection()
        return JetStreamAggregateRecorder(
            connection, self._subjects(connection), for_snapshots=purpose == "snapshots"
        )

    def application_recorder(self) -> ApplicationRecorder:
        connection = self._connection()
        topic = self.env.get(self.APPLICATION_RECORDER_TOPIC)
        cls = resolve_topic(topic) if topic else JetStreamApplicationRecorder
        recorder: ApplicationRecorder = cls(connection, self._subjects(connection))
        return recorder

    def tracking_recorder(
        self,
        tracking_recorder_class: type[TrackingRecorder] | None = None,
    ) -> TrackingRecorder:
        connection = self._connection()
        if tracking_recorder_class is None:
            topic = self.env.get(self.TRACKING_RECORDER_TOPIC)
            tracking_recorder_class = resolve_topic(topic) if topic else JetStreamTrackingRecorder
        return tracking_recorder_class(connection, self._subjects(connection))  # type: ignore[call-arg]

    def process_recorder(self) -> ProcessRecorder:
        connection = self._connection()
        topic = self.env.get(self.PROCESS_RECORDER_TOPIC)
        cls = resolve_topic(topic) if topic else JetStreamProcessRecorder
        recorder: ProcessRecorder = cls(connection, self._subjects(connection))
        return recorder
