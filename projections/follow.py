"""Following several logs live: one library subscription per upstream, merged into one queue.

Each upstream's `ApplicationSubscription` (which needs only the application's recorder
and mapper) is iterated in its own thread; the runner's thread takes what has arrived
and applies it, so the view sees one writer and events of one upstream in their order.
The queue is bounded: a slow view holds the readers back instead of filling memory.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import ApplicationSubscription

from infra.errors import NatsUnavailableError

Item = tuple[Any, Tracking]
QUEUE_SIZE = 1000
_PUT_WAIT_S = 0.1


class _Ended:
    """Put by a reader thread when its subscription ended, with the error if it failed."""

    def __init__(self, name: str, error: BaseException | None) -> None:
        self.name = name
        self.error = error


class MergedSubscription:
    """New events of several applications, after the view's position in each.

    Use as a context manager; `take` returns what arrived (at most `limit` items,
    waiting up to `timeout` for the first) and raises if a subscription failed or
    ended while this one was open.
    """

    def __init__(
        self,
        apps: Sequence[Application[Any]],
        view: TrackingRecorder,
        topics: Sequence[str] = (),
        *,
        maxsize: int = QUEUE_SIZE,
    ) -> None:
        self._queue: queue.Queue[Item | _Ended] = queue.Queue(maxsize=maxsize)
        self._closing = threading.Event()
        self._subscriptions: list[ApplicationSubscription[Any]] = []
        self._threads: list[threading.Thread] = []
        try:
            for app in apps:
                subscription = ApplicationSubscription(
                    app, gt=view.max_tracking_id(app.name), topics=topics
                )
                self._subscriptions.append(subscription)
        except BaseException:
            self.close()
            raise
        for subscription in self._subscriptions:
            thread = threading.Thread(
                target=self._read,
                args=(subscription,),
                name=f"follow-{subscription.name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def _read(self, subscription: ApplicationSubscription[Any]) -> None:
        error: BaseException | None = None
        try:
            for item in subscription:
                if not self._put(item):
                    return
        except BaseException as failure:  # noqa: BLE001 - handed to the runner's thread
            error = failure
        if not self._closing.is_set():
            self._put(_Ended(subscription.name, error))

    def _put(self, item: Item | _Ended) -> bool:
        while not self._closing.is_set():
            with suppress(queue.Full):
                self._queue.put(item, timeout=_PUT_WAIT_S)
                return True
        return False

    def take(self, timeout: float, limit: int) -> list[Item]:
        """Up to `limit` events in arrival order, waiting up to `timeout` for the first."""
        items: list[Item] = []
        try:
            item = self._queue.get(timeout=timeout)
            while True:
                if isinstance(item, _Ended):
                    raise self._failure(item)
                items.append(item)
                if len(items) >= limit:
                    break
                item = self._queue.get_nowait()
        except queue.Empty:
            pass
        return items

    @staticmethod
    def _failure(ended: _Ended) -> BaseException:
        if ended.error is not None:
            return ended.error
        return NatsUnavailableError(f"the subscription to the {ended.name} log ended")

    def close(self) -> None:
        self._closing.set()
        for subscription in self._subscriptions:
            with suppress(Exception):  # a subscription whose connection died stops anyway
                subscription.stop()
        for thread in self._threads:
            thread.join(timeout=10)

    def __enter__(self) -> MergedSubscription:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
