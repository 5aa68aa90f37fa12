"""Replay for auditors: the log as JSON-ready records, filtered by tenant, aggregate, type, time.

Also by verdict (`hub.audit.verdict_of`: an accepted signal or an admin action, from
an event's context), source (a family: `spark` finds `spark:submission`) and reason, and,
with `rejections`, the rejected signals of the audit stream, merged in time order:
read straight from NATS, the auditor's ground truth (not from a read model).
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from hub.audit import reason_of, rejection_source, rejections, source_matches, verdict_of
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
    source: str | None = None
    reason: str | None = None
    verdict: str | None = None
    rejections: bool = False

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

    def wants_verdict(self, context: Mapping[str, str]) -> bool:
        """Whether an event with this context passes the verdict, source and reason filters."""
        if self.verdict is None and self.source is None and self.reason is None:
            return True
        verdict = verdict_of(context)
        return (
            (self.verdict is None or verdict == self.verdict)
            and (self.source is None or source_matches(context.get("source", ""), self.source))
            and (self.reason is None or reason_of(context, verdict) == self.reason)
        )

    @property
    def wants_events(self) -> bool:
        return self.verdict != "rejected"

    @property
    def wants_rejections(self) -> bool:
        """Rejections name no aggregate or event type: any such filter leaves them out."""
        return (
            (self.rejections or self.verdict == "rejected")
            and self.verdict in {None, "rejected"}
            and not (self.aggregate_id or self.aggregate_type or self.event_types or self.app)
        )


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
    """Yield matching records: events in log order and, if asked for, rejections, the two
    merged by time (`recorded_at`)."""
    streams: list[Iterator[dict[str, Any]]] = []
    if replay_filter.wants_events:
        streams.append(replay_events(connection, prefix, replay_filter))
    if replay_filter.wants_rejections:
        streams.append(replay_rejections(connection, prefix, replay_filter))
    if len(streams) == 1:
        yield from streams[0]
        return
    yield from heapq.merge(*streams, key=_moment)


def _moment(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["recorded_at"])


def _context(record: dict[str, Any]) -> Mapping[str, str]:
    data = record["data"]
    context = data.get("context") if isinstance(data, dict) else None
    return context if isinstance(context, dict) else {}


def replay_rejections(
    connection: NatsConnection, prefix: str, replay_filter: ReplayFilter
) -> Iterator[dict[str, Any]]:
    """Yield the audit stream's rejections that match, oldest first, as records."""
    stream = Subjects(prefix, "_").audit_stream
    tenant = replay_filter.tenant
    subject = f"{prefix}.audit.{token(tenant) if tenant else '*'}.*"
    seq = _start_seq(connection, stream, subject, replace(replay_filter, from_position=1))
    if seq < 0:
        return
    while True:
        page = rejections(connection, prefix, tenant, after=seq - 1, limit=PAGE)
        for rejection in page:
            received = datetime.fromisoformat(rejection.received_at)
            if replay_filter.until is not None and received > replay_filter.until:
                return
            if replay_filter.since is not None and received < replay_filter.since:
                continue
            source = rejection_source(rejection.kind)
            if replay_filter.source is not None and not source_matches(
                source, replay_filter.source
            ):
                continue
            if replay_filter.reason is not None and rejection.reason != replay_filter.reason:
                continue
            yield {
                "log": "audit",
                "position": rejection.position,
                "recorded_at": received.astimezone(UTC).isoformat(),
                "verdict": "rejected",
                "tenant": rejection.tenant,
                "source": source,
                "kind": rejection.kind,
                "reason": rejection.reason,
                "detail": rejection.detail,
                "evidence": rejection.evidence,
            }
        if not page:  # a short page may only be the server's size limit: read until empty
            return
        seq = page[-1].position + 1


def replay_events(
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
            if replay_filter.wants_type(record["event_type"]) and replay_filter.wants_verdict(
                _context(record)
            ):
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
