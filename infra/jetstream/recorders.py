"""eventsourcing recorders on JetStream: aggregate, application, tracking and process.

A commit of one event is one message, checked against the aggregate's last subject
sequence (optimistic concurrency on the server). A commit of several messages is one
atomic batch. The stream sequence is the notification id. A write whose
acknowledgement was lost is read back before anything is written again.

A process application's tracking position travels in the same message as the one
event it caused (headers `Hub-Tracking-*`), then a small pointer on its tracking
subject lets a restart find it without scanning. The check that a position only moves
forward is made here, under a lock, against a cached position: one active runner per
process application (the runner holds a lease) makes that cache the truth; a
tracking-only commit and an atomic batch are also checked by the server.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    DataError,
    IntegrityError,
    Notification,
    ProcessRecorder,
    ProgrammingError,
    StoredEvent,
    Subscription,
    Tracking,
    TrackingRecorder,
)

from infra.errors import NatsUnavailableError
from infra.jetstream.loop_wires import wire_here
from infra.jetstream.subjects import SubjectError, Subjects
from infra.jetstream.wire import MAX_BATCH, AckLostError, JetStreamAPIError, OutMsg, StoredMsg
from infra.nats_client import UNAVAILABLE, NatsConnection

H_TOPIC = "Hub-Topic"
H_VERSION = "Hub-Version"
H_TRACK_APP = "Hub-Tracking-App"
H_TRACK_ID = "Hub-Tracking-Id"
EXPECTED_SEQ = "Nats-Expected-Last-Subject-Sequence"
_CACHE_SIZE = 100_000
T = TypeVar("T")


def _msg_id(subject: str, value: int, commit: str) -> str:
    """Unique to one commit (retries of it included), so another writer's message on the
    same subject and version is never mistaken for ours: neither by the server's
    deduplication, which answers a racing batch with 10201 instead of a conflict,
    nor by the read-back after a lost acknowledgement."""
    return f"{subject}:{value}:{commit}"


class _LastSeen:
    """subject -> (version or tracking id, stream sequence) of its newest message, bounded."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, subject: str) -> tuple[int, int] | None:
        with self._lock:
            item = self._items.get(subject)
            if item is not None:
                self._items.move_to_end(subject)
            return item

    def put(self, subject: str, value: int, seq: int) -> None:
        with self._lock:
            current = self._items.get(subject)
            if current is None or current[1] < seq:
                self._items[subject] = (value, seq)
                self._items.move_to_end(subject)
                if len(self._items) > _CACHE_SIZE:
                    self._items.popitem(last=False)

    def forget(self, subject: str) -> None:
        with self._lock:
            self._items.pop(subject, None)


class JetStreamRecorder:
    """What every JetStream recorder shares: the connection, subjects and streams."""

    def __init__(
        self, connection: NatsConnection, subjects: Subjects, *, for_snapshots: bool = False
    ) -> None:
        self.connection = connection
        self.subjects = subjects
        self.for_snapshots = for_snapshots
        self.stream = subjects.snapshots_stream if for_snapshots else subjects.events_stream
        self._last_seen = _LastSeen()

    @functools.cached_property
    def wire(self) -> Any:
        """The connection's wire, looked up once (it is on every commit's and read's path)."""
        from infra.jetstream.factory import wire_for  # noqa: PLC0415 - avoids an import cycle

        return wire_for(self.connection)

    def _read(self, factory: Callable[[], Awaitable[T]]) -> T:
        """Run a read: no answer in time is NATS being unavailable, not a wire detail."""
        try:
            return self.connection.run(factory)
        except AckLostError as error:
            msg = f"NATS at {self.connection.url} did not answer a read: {error}"
            raise NatsUnavailableError(msg) from error

    def _subject_of(self, originator_id: UUID | str) -> str:
        try:
            if self.for_snapshots:
                return self.subjects.snapshot(originator_id)
            return self.subjects.event(originator_id)
        except SubjectError as error:
            raise DataError(str(error)) from error

    def _last_of(self, subject: str) -> tuple[int, int]:
        """(value, seq) of the newest message on `subject`, (0, 0) if none."""
        cached = self._last_seen.get(subject)
        if cached is not None:
            return cached
        last = self._read(lambda: self.wire.direct_last(self.stream, subject))
        if last is None:
            return (-(2**62), 0)
        value = int(last.headers.get(H_VERSION) or last.headers.get(H_TRACK_ID) or 0)
        self._last_seen.put(subject, value, last.seq)
        return (value, last.seq)

    def _needs_lookup(self, stored_events: Sequence[StoredEvent]) -> bool:
        """Whether building the commit's messages must read an aggregate's last sequence."""
        seen: set[str] = set()
        for event in stored_events:
            subject = self._subject_of(event.originator_id)
            if subject in seen:
                continue
            seen.add(subject)
            if event.originator_version != 1 and self._last_seen.get(subject) is None:
                return True
        return False

    async def _commit_here(self, msgs: list[OutMsg]) -> list[int]:
        """`_commit` of one message, awaited on the running loop's own client.

        A refusal is decided from the answer alone, as in `_commit`'s first attempt; a
        lost or impossible answer goes to a thread, which reads back and retries once.
        """
        wire = await wire_here(self.connection)
        try:
            if not wire.client.is_connected:
                raise NatsUnavailableError(f"NATS at {self.connection.url} is reconnecting")
            try:
                seq = await wire.publish(msgs[0])
            except UNAVAILABLE as error:
                raise NatsUnavailableError(str(error) or type(error).__name__) from error
        except JetStreamAPIError as error:
            self._last_seen.forget(msgs[0].subject)
            return self._rejected(msgs, error, retried=False)
        except (AckLostError, NatsUnavailableError):
            self._last_seen.forget(msgs[0].subject)
            return await asyncio.to_thread(self._recover_commit, msgs)
        self._remember(msgs, [seq])
        return [seq]

    def _recover_commit(self, msgs: list[OutMsg]) -> list[int]:
        """After a first attempt whose answer was lost: stored already, or the second try."""
        stored = self._read_back_or_none(msgs)
        return stored if stored is not None else self._commit(msgs, attempts=(2,))

    def _event_messages(self, stored_events: Sequence[StoredEvent]) -> list[OutMsg]:
        """Messages for a commit, each aggregate's first one checked against its last seq."""
        msgs: list[OutMsg] = []
        previous: dict[str, int] = {}
        commit = secrets.token_hex(8)
        for event in stored_events:
            subject = self._subject_of(event.originator_id)
            headers = {
                H_TOPIC: event.topic,
                H_VERSION: str(event.originator_version),
                "Nats-Msg-Id": _msg_id(subject, event.originator_version, commit),
            }
            if subject in previous:
                if event.originator_version <= previous[subject]:
                    msg = f"version {event.originator_version} of {event.originator_id} repeats"
                    raise IntegrityError(msg)
            else:
                if event.originator_version == 1 and self._last_seen.get(subject) is None:
                    # A new aggregate: the server checks that its subject has no message
                    # (expected last subject sequence 0), no need to read it first.
                    last_version, last_seq = 0, 0
                else:
                    last_version, last_seq = self._last_of(subject)
                if event.originator_version <= last_version:
                    msg = f"{event.originator_id} already has version {last_version}"
                    raise IntegrityError(msg)
                headers[EXPECTED_SEQ] = str(last_seq)
            previous[subject] = event.originator_version
            msgs.append(OutMsg(subject, event.state, headers))
        return msgs

    def _commit(self, msgs: list[OutMsg], attempts: Sequence[int] = (1, 2)) -> list[int]:
        """Store `msgs` (one message, or one atomic batch); read back on a lost ack."""
        if len(msgs) > MAX_BATCH:
            msg = f"a commit holds at most {MAX_BATCH} events, not {len(msgs)}"
            raise ProgrammingError(msg)
        wire = self.wire
        for attempt in attempts:
            try:
                if len(msgs) == 1:
                    seqs = [self.connection.run(lambda: wire.publish(msgs[0]))]
                else:
                    seqs = self.connection.run(lambda: wire.publish_batch(msgs))
            except JetStreamAPIError as error:
                for out in msgs:
                    self._last_seen.forget(out.subject)
                return self._rejected(msgs, error, retried=attempt == 2)
            except (AckLostError, NatsUnavailableError) as error:
                for out in msgs:
                    self._last_seen.forget(out.subject)
                stored = self._read_back_or_none(msgs)
                if stored is not None:
                    return stored
                if attempt == 2:
                    raise NatsUnavailableError(f"commit not acknowledged: {error}") from error
                continue
            self._remember(msgs, seqs)
            return seqs
        raise AssertionError("unreachable")  # pragma: no cover

    def _rejected(
        self, msgs: list[OutMsg], error: JetStreamAPIError, *, retried: bool
    ) -> list[int]:
        """The server refused the commit: a conflict, unless a retry finds it stored."""
        if retried and (error.is_conflict or error.is_duplicate):
            # The first attempt may have landed after all: a retried batch is refused
            # as a duplicate (10201), a retried message as a conflict (10071).
            stored = self._read_back(msgs)
            if stored is not None:
                return stored
            raise IntegrityError(str(error)) from error
        if error.is_conflict:
            raise IntegrityError(str(error)) from error
        raise DataError(str(error)) from error

    def _read_back_or_none(self, msgs: list[OutMsg]) -> list[int] | None:
        try:
            return self._read_back(msgs)
        except (AckLostError, NatsUnavailableError):
            return None

    def _read_back(self, msgs: list[OutMsg]) -> list[int] | None:
        """If the commit is stored (batches are all or nothing), its seqs.

        A checked message can only have landed as the first message on its subject after
        the sequence it expected, whatever was written after it since: look there, not at
        the subject's newest message. An unchecked one (a tracking pointer) is looked for
        as the newest.
        """
        index, out = next(
            ((i, m) for i, m in enumerate(msgs) if EXPECTED_SEQ in m.headers),
            (len(msgs) - 1, msgs[-1]),
        )
        if EXPECTED_SEQ in out.headers:
            after = int(out.headers[EXPECTED_SEQ])
            found, _ = self._read(
                lambda: self.wire.direct_batch(
                    self.stream, seq=after + 1, subject=out.subject, batch=1
                )
            )
            stored = found[0] if found else None
        else:
            stored = self._read(lambda: self.wire.direct_last(self.stream, out.subject))
        if stored is None or stored.headers.get("Nats-Msg-Id") != out.headers["Nats-Msg-Id"]:
            return None
        first = stored.seq - index
        seqs = list(range(first, first + len(msgs)))
        self._remember(msgs, seqs)
        return seqs

    def _remember(self, msgs: list[OutMsg], seqs: list[int]) -> None:
        for out, seq in zip(msgs, seqs, strict=True):
            value = out.headers.get(H_VERSION) or out.headers.get(H_TRACK_ID)
            if value is not None:
                self._last_seen.put(out.subject, int(value), seq)

    def _to_stored_event(self, msg: StoredMsg) -> StoredEvent:
        return StoredEvent(
            originator_id=self.subjects.originator_of(msg.subject),
            originator_version=int(msg.headers[H_VERSION]),
            topic=msg.headers[H_TOPIC],
            state=msg.data,
        )


class JetStreamAggregateRecorder(JetStreamRecorder, AggregateRecorder):
    """Stores an aggregate's events on its own subject."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        self._insert(stored_events)
        return None

    def _insert(
        self, stored_events: Sequence[StoredEvent], extra: Sequence[OutMsg] = ()
    ) -> list[int]:
        if not stored_events and not extra:
            return []
        msgs = self._event_messages(stored_events) + list(extra)
        return self._commit(msgs)[: len(stored_events)]

    async def insert_events_here(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        """`insert_events` for a caller on an event loop: the stream sequences.

        A commit of one event that needs no lookup (a new aggregate, or one this process
        wrote last) is awaited on the loop's own client; anything else runs the
        synchronous path in a thread.
        """
        if len(stored_events) != 1 or self._needs_lookup(stored_events):
            return await asyncio.to_thread(self._insert, stored_events)
        return await self._commit_here(self._event_messages(stored_events))

    def _start_after(self, subject: str, gt: int | None) -> int:
        """Where to start reading the events after version `gt`.

        If this process saw version `gt` as the subject's newest message, every later
        version is after that message's sequence: start there, and the server does not
        scan the aggregate's whole history (what an aggregate cache's fast-forward asks).
        Otherwise from the beginning.
        """
        seen = self._last_seen.get(subject) if gt is not None else None
        return seen[1] + 1 if seen is not None and seen[0] == gt else 1

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        subject = self._subject_of(originator_id)
        if desc and lte is None and limit == 1:
            last = self._read(lambda: self.wire.direct_last(self.stream, subject))
            if last is None:
                return []
            self._last_seen.put(subject, int(last.headers[H_VERSION]), last.seq)
            return (
                [self._to_stored_event(last)]
                if gt is None or (int(last.headers[H_VERSION]) > gt)
                else []
            )
        start = self._start_after(subject, gt)
        msgs = self._read(lambda: self.wire.direct_all(self.stream, subject=subject, seq=start))
        if msgs:
            self._last_seen.put(subject, int(msgs[-1].headers[H_VERSION]), msgs[-1].seq)
        events = [self._to_stored_event(m) for m in msgs]
        events = [
            e
            for e in events
            if (gt is None or e.originator_version > gt)
            and (lte is None or e.originator_version <= lte)
        ]
        if desc:
            events.reverse()
        return events[:limit] if limit is not None else events


class JetStreamApplicationRecorder(JetStreamAggregateRecorder, ApplicationRecorder):
    """An application's notification log: its events, numbered by stream sequence."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return self._insert(stored_events)

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        seq = (start or 1) if inclusive_of_start else (start or 0) + 1
        wanted = set(topics)
        out: list[Notification] = []
        while len(out) < limit:
            msgs, left = self._read(
                lambda s=seq: self.wire.direct_batch(  # type: ignore[misc]
                    self.stream,
                    seq=s,
                    subject=self.subjects.app_events,
                    batch=min(max(limit - len(out), 1) * (4 if wanted else 1), 1000),
                    up_to_seq=stop,
                )
            )
            for msg in msgs:
                if stop is not None and msg.seq > stop:
                    return out
                notification = self._to_notification(msg)
                if wanted and notification.topic not in wanted:
                    continue
                out.append(notification)
                if len(out) == limit:
                    return out
            if not msgs or left == 0:
                return out
            seq = msgs[-1].seq + 1
        return out

    def _to_notification(self, msg: StoredMsg) -> Notification:
        return Notification(
            id=msg.seq,
            originator_id=self.subjects.originator_of(msg.subject),
            originator_version=int(msg.headers[H_VERSION]),
            topic=msg.headers[H_TOPIC],
            state=msg.data,
        )

    def max_notification_id(self) -> int | None:
        last = self._read(lambda: self.wire.direct_last(self.stream, self.subjects.app_events))
        return None if last is None else last.seq

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        from infra.jetstream.subscription import JetStreamSubscription  # noqa: PLC0415

        return JetStreamSubscription(self, gt=gt, topics=topics)


class JetStreamTrackingRecorder(JetStreamRecorder, TrackingRecorder):
    """Tracking positions of a process application, per upstream application."""

    def __init__(self, connection: NatsConnection, subjects: Subjects) -> None:
        super().__init__(connection, subjects)
        self._tracking_lock = threading.Lock()
        self._positions: dict[str, int] = {}

    def _position(self, upstream: str) -> int | None:
        """This writer's position for `upstream`: cached, else read from the stream."""
        if upstream not in self._positions:
            position = self.max_tracking_id(upstream)
            if position is None:
                return None
            self._positions[upstream] = position
        return self._positions[upstream]

    def _tracking_message(self, tracking: Tracking, *, checked: bool) -> OutMsg:
        subject = self.subjects.tracking(tracking.application_name)
        headers = {
            H_TRACK_APP: tracking.application_name,
            H_TRACK_ID: str(tracking.notification_id),
            "Nats-Msg-Id": _msg_id(subject, tracking.notification_id, secrets.token_hex(8)),
        }
        if checked:
            current = self._position(tracking.application_name)
            if current is not None and tracking.notification_id <= current:
                msg = (
                    f"{tracking.application_name} position {tracking.notification_id} "
                    f"is not after {current}"
                )
                raise IntegrityError(msg)
            _, last_seq = self._last_of(subject)
            headers[EXPECTED_SEQ] = str(last_seq)
        return OutMsg(subject, b"", headers)

    def _moved(self, tracking: Tracking) -> None:
        self._positions[tracking.application_name] = tracking.notification_id

    def _recover(self, upstream: str, after_seq: int) -> int | None:
        """The newest position carried by this application's events after its last pointer."""
        msgs = self._read(
            lambda: self.wire.direct_all(
                self.stream, subject=self.subjects.app_events, seq=after_seq + 1
            )
        )
        found = [int(m.headers[H_TRACK_ID]) for m in msgs if m.headers.get(H_TRACK_APP) == upstream]
        return max(found) if found else None

    def insert_tracking(self, tracking: Tracking) -> None:
        with self._tracking_lock:
            try:
                self._commit([self._tracking_message(tracking, checked=True)])
            except IntegrityError:
                self._positions.pop(tracking.application_name, None)
                raise
            self._moved(tracking)

    def max_tracking_id(self, application_name: str) -> int | None:
        subject = self.subjects.tracking(application_name)
        last = self._read(lambda: self.wire.direct_last(self.stream, subject))
        pointer = int(last.headers[H_TRACK_ID]) if last else None
        recovered = self._recover(application_name, last.seq if last else 0)
        if recovered is not None and (pointer is None or recovered > pointer):
            return recovered
        return pointer


class JetStreamProcessRecorder(
    JetStreamTrackingRecorder, JetStreamApplicationRecorder, ProcessRecorder
):
    """Events and the tracking position that caused them, committed together."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        tracking: Tracking | None = kwargs.get("tracking")
        if tracking is None:
            return self._insert(stored_events)
        with self._tracking_lock:
            try:
                seqs = self._insert_tracked(stored_events, tracking)
            except IntegrityError:
                self._positions.pop(tracking.application_name, None)
                raise
            self._moved(tracking)
            return seqs

    def _insert_tracked(
        self, stored_events: Sequence[StoredEvent], tracking: Tracking
    ) -> list[int]:
        pointer = self._tracking_message(tracking, checked=True)
        if len(stored_events) != 1:
            # Several events (or none): one atomic batch whose last message moves the
            # position, checked by the server too.
            return self._insert(stored_events, [pointer])
        # The fast path: one message carries the event and its position.
        msgs = self._event_messages(stored_events)
        msgs[0].headers.update(
            {H_TRACK_APP: tracking.application_name, H_TRACK_ID: str(tracking.notification_id)}
        )
        seqs = self._commit(msgs)
        self._write_pointer(pointer)
        return seqs

    def _write_pointer(self, pointer: OutMsg) -> None:
        """Best effort: a lost pointer is recovered from the event's headers on restart."""
        unchecked = OutMsg(
            pointer.subject,
            pointer.data,
            {k: v for k, v in pointer.headers.items() if not k.startswith("Nats-Expected")},
        )
        try:
            self._commit([unchecked])
        except (NatsUnavailableError, IntegrityError, DataError):
            self._last_seen.forget(pointer.subject)
