"""Replay for auditors: the log as JSON-ready records, filtered by tenant, aggregate, type, time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from infra.jetstream.factory import wire_for
from infra.jetstream.recorders import H_TOPIC, H_TRACK_APP, H_TRACK_ID, H_VERSION
from infra.jetstream.subjects import Subjects, id_to_tokens, token
from infra.jetstream.wire import StoredMsg
from infra.nats_client import NatsConnection

PAGE = 1000


@dataclass(frozen=True)
class ReplayFilter:
    """What to replay; every field narrows it, none means everything."""

    tenant: str | None = None
    aggregate_id: str | None = None
    aggregate_type: str | None = None
    event_types: frozenset[str] = field(default_factory=frozenset)
    since: datetime | None = None
    until: datetime | None = None
    from_position: int = 1
    app: str | None = None

    def subject(self, prefix: str) -> str:
        app = token(self.app) if self.app else "*"
        if self.aggregate_id:
            return f"{prefix}.ev.{app}.{id_to_tokens(self.aggregate_id)}"
        tenant = self.tenant or "*"
        type_name = self.aggregate_type or "*"
        return f"{prefix}.ev.{app}.{tenant}.{type_name}.*"

    def wants_type(self, event_type: str) -> bool:
        if not self.event_types:
            return True
        short = event_type.rsplit(".", 1)[-1]
        return event_type in self.event_types or short in self.event_types


def event_type_of(topic: str) -> str:
    """`hub.domain.tenants:Tenant.Registered` -> `Tenant.Registered`."""
    return topic.rsplit(":", 1)[-1]


def parse_stamp(stamp: str) -> datetime:
    """NATS time stamps carry nanoseconds; Python keeps microseconds."""
    head, _, rest = stamp.rstrip("Z").partition(".")
    micros = (rest + "000000")[:6]
    return datetime.fromisoformat(f"{head}.{micros}").replace(tzinfo=UTC)


def _transcoder() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder


def to_record(msg: StoredMsg, transcoder: JSONTranscoder) -> dict[str, Any]:
    _, _, app, tenant, type_name, _ = msg.subject.split(".", 5)
    topic = msg.headers[H_TOPIC]
    try:
        data: Any = transcoder.decode(msg.data)
    except (ValueError, TypeError):
        data = {"undecodable_bytes": len(msg.data)}
    record: dict[str, Any] = {
        "position": msg.seq,
        "recorded_at": parse_stamp(msg.headers["Nats-Time-Stamp"]).isoformat(),
        "app": app,
        "tenant": tenant,
        "aggregate_type": type_name,
        "aggregate_id": msg.subject.split(".", 3)[3],
        "version": int(msg.headers[H_VERSION]),
        "event_type": event_type_of(topic),
        "topic": topic,
        "data": data,
    }
    if H_TRACK_APP in msg.headers:
        record["caused_by"] = {
            "app": msg.headers[H_TRACK_APP],
            "position": int(msg.headers[H_TRACK_ID]),
        }
    return record


def _start_seq(
    connection: NatsConnection, stream: str, subject: str, replay_filter: ReplayFilter
) -> int:
    if replay_filter.since is None:
        return replay_filter.from_position
    wire = wire_for(connection)
    since = replay_filter.since.astimezone(UTC).isoformat().replace("+00:00", "Z")
    first = connection.run(lambda: wire.direct_first_after(stream, subject, since))
    if first is None:
        return -1
    return max(first, replay_filter.from_position)


def replay(
    connection: NatsConnection, prefix: str, replay_filter: ReplayFilter
) -> Iterator[dict[str, Any]]:
    """Yield matching events in log order, from the filter's start to the end of the log."""
    stream = Subjects(prefix, "_").events_stream
    subject = replay_filter.subject(prefix)
    seq = _start_seq(connection, stream, subject, replay_filter)
    if seq < 0:
        return
    wire = wire_for(connection)
    transcoder = _transcoder()
    while True:
        msgs, left = connection.run(
            lambda s=seq: wire.direct_batch(  # type: ignore[misc]
                stream, seq=s, subject=subject, batch=PAGE
            )
        )
        for msg in msgs:
            record = to_record(msg, transcoder)
            if replay_filter.until is not None and (
                parse_stamp(msg.headers["Nats-Time-Stamp"]) > replay_filter.until
            ):
                return
            if replay_filter.wants_type(record["event_type"]):
                yield record
        if not msgs or left == 0:
            return
        seq = msgs[-1].seq + 1


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def to_json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, default=_json_default, separators=(",", ":"), sort_keys=True)
