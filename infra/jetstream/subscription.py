"""Live notifications from the log: catch-up then follow, on an ordered push consumer."""

from __future__ import annotations

import queue
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import ApplicationRecorder, Notification, Subscription

from infra.jetstream.recorders import H_TOPIC, H_VERSION

if TYPE_CHECKING:
    from infra.jetstream.recorders import JetStreamApplicationRecorder

_STOP = object()


class JetStreamSubscription(Subscription[ApplicationRecorder]):
    """Yields notifications after `gt`, blocking for new ones until stopped."""

    def __init__(self, recorder: JetStreamApplicationRecorder, gt: int | None = None,
                 topics: Sequence[str] = ()) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._wanted = frozenset(topics)
        self._stop_consumer: Callable[[], Any] | None = None
        subjects = recorder.subjects
        originator_of = subjects.originator_of
        wanted = self._wanted
        put = self._queue.put

        def on_message(subject: str, seq: int, data: bytes, headers: dict[str, str]) -> None:
            topic = headers[H_TOPIC]
            if wanted and topic not in wanted:
                return
            put(Notification(id=seq, originator_id=originator_of(subject),
                             originator_version=int(headers[H_VERSION]), topic=topic,
                             state=data))

        wire = recorder.wire
        self._connection = recorder.connection
        self._stop_consumer = self._connection.run(lambda: wire.replay(
            recorder.stream, subject=subjects.app_events, start_seq=(gt or 0) + 1,
            on_message=on_message))

    def stop(self) -> None:
        if not self._has_been_stopped:
            super().stop()
            self._queue.put(_STOP)
            stop, self._stop_consumer = self._stop_consumer, None
            if stop is not None:
                try:
                    self._connection.run(stop)
                except Exception:  # noqa: BLE001 - the consumer expires by itself
                    pass

    def __next__(self) -> Notification:
        if self._has_been_stopped:
            raise StopIteration
        item = self._queue.get()
        if item is _STOP or self._has_been_stopped:
            raise StopIteration
        notification: Notification = item
        return notification
