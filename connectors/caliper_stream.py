"""The Caliper stream: envelopes for analytics consumers, by tenant and event type.

Stream `<PREFIX>_CALIPER`, subjects `<prefix>.caliper.<tenant>.<EventType>`, one
envelope (one event) a message, kept 90 days by default (`HUB_CALIPER_RETENTION_DAYS`).
A consumer subscribes to `<prefix>.caliper.acme.GradeEvent` for one tenant's grades, or
`<prefix>.caliper.>` for everything. Each message's `Nats-Msg-Id` is the Caliper event
id, so the stream drops a repeat published within its duplicate window (a restart that
publishes again what it published just before it died).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.jetstream.factory import wire_for
from infra.jetstream.wire import OutMsg, RawMsg, StoredMsg
from infra.nats_client import NatsConnection
from schemas.caliper import Envelope

DAY_NS = 24 * 3600 * 1_000_000_000
DEFAULT_RETENTION_DAYS = 90
DUPLICATE_WINDOW_NS = 10 * 60 * 1_000_000_000


class CaliperStreamSettings(BaseSettings):
    """`HUB_CALIPER_RETENTION_DAYS`: how long the Caliper stream keeps envelopes."""

    model_config = SettingsConfigDict(env_prefix="HUB_CALIPER_", extra="ignore")

    retention_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=1)


def stream_name(prefix: str) -> str:
    return f"{prefix.upper()}_CALIPER"


def subject(prefix: str, tenant: str, event_type: str) -> str:
    return f"{prefix}.caliper.{tenant}.{event_type}"


def stream_config(prefix: str, retention_days: int = DEFAULT_RETENTION_DAYS) -> dict[str, Any]:
    return {
        "name": stream_name(prefix),
        "subjects": [f"{prefix}.caliper.>"],
        "storage": "file",
        "retention": "limits",
        "discard": "old",
        "max_age": retention_days * DAY_NS,
        "duplicate_window": DUPLICATE_WINDOW_NS,
        "allow_direct": True,
    }


DATA_KEY = b',"data":['


@dataclass(frozen=True)
class Published:
    """One envelope on the stream: its sequence, tenant, event type and raw JSON."""

    seq: int
    tenant: str
    event_type: str
    raw: bytes

    @property
    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.raw)
        return body

    @property
    def events_json(self) -> bytes:
        """The envelope's events as JSON, without the brackets of their array: envelopes
        are batched by joining these with commas, never parsing them.

        The hub writes `data` last (see `CaliperStream.publish`), and `,"data":[` cannot
        occur inside a JSON string (its quote would be escaped), so the first one is it.
        """
        start = self.raw.find(DATA_KEY)
        end = self.raw.rfind(b"]")
        if start < 0 or end < start:  # not written by the hub: the slow, sure way
            return b",".join(json.dumps(e).encode() for e in self.envelope["data"])
        return self.raw[start + len(DATA_KEY) : end]


def envelope_for(sensor: str, event: dict[str, Any], *, now: datetime | None = None) -> Envelope:
    """The envelope of one event; its `to_json()` checks both against the Caliper rules."""
    return Envelope(sensor=sensor, sendTime=now or datetime.now(UTC), data=[event])


class CaliperStream:
    """Publishes envelopes to, and reads them back from, one prefix's Caliper stream."""

    def __init__(self, env: Mapping[str, str], *, retention_days: int | None = None) -> None:
        self.prefix = env.get("NATS_STREAM_PREFIX", "hub")
        self.connection = NatsConnection.shared(
            env["NATS_URL"], timeout=float(env.get("NATS_TIMEOUT", "2"))
        )
        self.name = stream_name(self.prefix)
        days = retention_days or CaliperStreamSettings().retention_days
        self.config = stream_config(self.prefix, days)
        self._ready = False

    def ensure(self) -> None:
        """Create or update the stream (once per object)."""
        if not self._ready:
            wire = wire_for(self.connection)
            self.connection.run(lambda: wire.ensure_stream(self.config), timeout=10)
            self._ready = True

    def publish(self, tenant: str, envelopes: Sequence[dict[str, Any]]) -> list[int]:
        """Store each envelope (one event each, as `Envelope.to_json()` checked it) on its
        tenant's and type's subject, in order."""
        self.ensure()
        wire = wire_for(self.connection)
        out = []
        for body in envelopes:
            event = body["data"][0]
            msg = OutMsg(
                subject(self.prefix, tenant, event["type"]),
                json.dumps(body, separators=(",", ":")).encode(),
                {"Nats-Msg-Id": event["id"], "Content-Type": "application/json"},
            )
            out.append(self.connection.run(partial(wire.publish, msg)))
        return out

    def read(self, after: int, *, limit: int = 1000, tenant: str = "*") -> list[Published]:
        """Up to `limit` envelopes after stream sequence `after`, oldest first."""
        self.ensure()
        wire = wire_for(self.connection)
        msgs, _ = self.connection.run(
            lambda: wire.direct_batch(
                self.name,
                seq=after + 1,
                subject=f"{self.prefix}.caliper.{tenant}.*",
                batch=limit,
            )
        )
        return [_published(msg) for msg in msgs]

    def read_range(
        self, tenant: str, first_seq: int, last_seq: int, *, count: int
    ) -> list[Published]:
        """`tenant`'s envelopes from `first_seq` to `last_seq`, at most `count` of them
        (fewer if the stream no longer keeps some)."""
        self.ensure()
        wire = wire_for(self.connection)
        subject = f"{self.prefix}.caliper.{tenant}.*"
        found: list[Published] = []
        seq = first_seq
        while len(found) < count:
            page = partial(
                wire.direct_batch,
                self.name,
                seq=seq,
                subject=subject,
                batch=min(1000, count - len(found)),
            )
            msgs, _ = self.connection.run(page, timeout=30)
            kept = [_published(msg) for msg in msgs if msg.seq <= last_seq]
            found += kept
            if len(kept) < len(msgs) or not msgs:
                break
            seq = msgs[-1].seq + 1
        return found

    def follow(self, after: int, on_batch: Callable[[list[Published]], None]) -> Callable[[], None]:
        """Push every envelope after stream sequence `after` to `on_batch` (in order, in
        batches, on the connection's thread), then the live ones; returns how to stop."""
        self.ensure()
        wire = wire_for(self.connection)

        def on_raw(batch: list[RawMsg]) -> None:
            on_batch([_from_raw(msg) for msg in batch])

        stop = self.connection.run(
            lambda: wire.replay(
                self.name, subject=f"{self.prefix}.caliper.>", start_seq=after + 1, on_batch=on_raw
            ),
            timeout=10,
        )
        return lambda: self.connection.run(stop, timeout=10)

    def delete(self) -> None:
        wire = wire_for(self.connection)
        self.connection.run(lambda: wire.delete_stream(self.name), timeout=10)
        self._ready = False


def _published(msg: StoredMsg) -> Published:
    _, _, tenant, event_type = msg.subject.split(".", 3)
    return Published(msg.seq, tenant, event_type, msg.data)


def _from_raw(msg: RawMsg) -> Published:
    subject, seq, data, _ = msg
    _, _, tenant, event_type = subject.split(".", 3)
    return Published(seq, tenant, event_type, data)
