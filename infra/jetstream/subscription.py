"""Live notifications from the log: catch-up then follow, on an ordered push consumer."""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import ApplicationRecorder, Notification, Subscription

from infra.jetstream.recorders import H_TOPIC, H_VERSION
from infra.jetstream.wire import RawMsg, header_value

if TYPE_CHECKING:
    from infra.jetstream.recorders import JetStreamApplicationRecorder

_STOP = object()
_TOPIC = H_TOPIC.encode()
_VERSION = H_VERSION.encode()


class JetStreamSubscription(Subscription[ApplicationRecorder]):
    """Yields notifications after `gt`, blocking for new ones until stopped.

    The connection's loop thread only hands over batches of raw messages; they become
    notifications here, on the subscriber's thread.
    """

    def __init__(
        self,
        recorder: JetStreamApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._wanted = frozenset(t.encode() for t in topics)
        self._batch: list[RawMsg] = []
        self._index = 0
        self._originator_of = recorder.subjects.originator_of
        self._stop_consumer: Callable[[], Any] | None = None
        wire = recorder.wire
        self._connection = recorder.connection
        self._stop_consumer = self._connection.run(
            lambda: wire.replay(
                recorder.stream,
                subject=recorder.subjects.app_events,
                start_seq=(gt or 0) + 1,
                on_batch=self._queue.put,
            )
        )

    def stop(self) -> None:
        if not self._has_been_stopped:
            super().stop()
            self._queue.put(_STOP)
            stop, self._stop_consumer = self._stop_consumer, None
            if stop is not None:
                # The consumer expires by itself if this fails.
                with contextlib.suppress(Exception):
                    self._connection.run(stop)

    def __next__(self) -> Notification:
        while True:
            if self._has_been_stopped:
                raise StopIteration
            if self._index == len(self._batch):
                item = self._queue.get()
                if item is _STOP or self._has_been_stopped:
                    raise StopIteration
                self._batch, self._index = item, 0
                continue
            notification = self._to_notification(self._batch[self._index])
            self._index += 1
            if notification is not None:
                return notification

    def _to_notification(self, raw: RawMsg) -> Notification | None:
        """The message as a notification; None when its topic is not wanted."""
        subject, seq, data, headers = raw
        topic = header_value(headers, _TOPIC) or b""
        if self._wanted and topic not in self._wanted:
            return None
        return Notification(
            id=seq,
            originator_id=self._originator_of(subject),
            originator_version=int(header_value(headers, _VERSION) or 0),
            topic=topic.decode(),
            state=data,
        )
