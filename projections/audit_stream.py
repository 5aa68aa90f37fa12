"""The audit stream as a log a projection can follow: rejected signals as read-only events.

Rejections are not domain events: `hub.audit` stores them in a stream of their own
(`<PREFIX>_AUDIT`, bounded by age and size). To follow it with the same runner, lease,
tracking, status and rebuild as any log, the upstream named `audit` is opened as a
plain application whose recorder reads that stream: its notifications are the audit
messages (the stream sequence as their id), each one decoded as a `RejectionRecorded`.
Nothing is ever written through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from eventsourcing.application import Application
from eventsourcing.persistence import (
    ApplicationRecorder,
    Notification,
    ProgrammingError,
    StoredEvent,
    Subscription,
)
from eventsourcing.utils import get_topic

from infra.jetstream.recorders import JetStreamApplicationRecorder
from infra.jetstream.subjects import Subjects
from infra.jetstream.subscription import JetStreamSubscription
from infra.jetstream.wire import RawMsg, StoredMsg
from infra.nats_client import NatsConnection

AUDIT_UPSTREAM = "audit"


@dataclass
class RejectionRecorded:
    """A rejected signal as `hub.audit.record_rejection` stored it (only ever read)."""

    originator_id: str
    """`<tenant or _unknown>.<kind>`: the audit subject's tail."""
    originator_version: int
    tenant: str
    kind: str
    reason: str
    detail: str
    received_at: str
    evidence: dict[str, Any]


REJECTION_TOPIC = get_topic(RejectionRecorded)


@dataclass(frozen=True)
class AuditSubjects(Subjects):
    """The audit stream's subjects in place of an application's events."""

    @property
    def app_events(self) -> str:
        return f"{self.prefix}.audit.>"

    def originator_of(self, subject: str) -> str:
        return subject.split(".", 2)[2]


def _rejection(seq: int, subject: str, data: bytes) -> Notification:
    return Notification(
        id=seq,
        originator_id=subject.split(".", 2)[2],
        originator_version=0,
        topic=REJECTION_TOPIC,
        state=data,
    )


class AuditStreamSubscription(JetStreamSubscription):
    """Live audit messages, every one a rejection."""

    def _to_notification(self, raw: RawMsg) -> Notification | None:
        subject, seq, data, _ = raw
        return _rejection(seq, subject, data)


class AuditStreamRecorder(JetStreamApplicationRecorder):
    """Reads the audit stream as if it were an application's notification log."""

    def __init__(self, connection: NatsConnection, subjects: Subjects) -> None:
        audit = AuditSubjects(subjects.prefix, subjects.app)
        super().__init__(connection, audit)
        self.stream = audit.audit_stream

    def _to_notification(self, msg: StoredMsg) -> Notification:
        return _rejection(msg.seq, msg.subject, msg.data)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        msg = "the audit stream is written by hub.audit.record_rejection, never as events"
        raise ProgrammingError(msg)

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        return AuditStreamSubscription(self, gt=gt, topics=topics)


class AuditLog(Application[str]):
    """The reader of the audit stream, the upstream named `audit`."""

    name = AUDIT_UPSTREAM
    env: ClassVar[dict[str, str]] = {
        "APPLICATION_RECORDER_TOPIC": get_topic(AuditStreamRecorder),
    }
