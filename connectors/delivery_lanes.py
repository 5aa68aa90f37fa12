"""A delivery scheduler that attempts deliveries side by side, one lane per target.

`DeliveryScheduler` attempts what is due one after the other: one target that never
answers holds every other back by its timeout, once per due delivery. `LanedScheduler`
hands each due delivery to a thread pool instead, at most one attempt in flight per
lane (`lane_of` an index entry: by default its target URL), so a slow target waits only
for itself, and its own deliveries still go in order, one at a time. The lane is known
from the index, without reading the delivery.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from connectors.deliveries import MIN_WAIT_S, DeliveryScheduler, Entry
from hub.domain.deliveries import RETRYING

log = structlog.get_logger(__name__)


def target_of(entry: Entry) -> str:
    """The default lane: the delivery's target (where it was first meant to go)."""
    return entry.target


@dataclass
class LanedScheduler(DeliveryScheduler):
    """Attempts due deliveries on `workers` threads, one at a time per `lane_of(entry)`."""

    lane_of: Callable[[Entry], str] = target_of
    workers: int = 16
    _lanes: dict[str, str] = field(default_factory=dict)  # delivery id -> its lane
    _busy: set[str] = field(default_factory=set)  # lanes with an attempt in flight
    _in_flight: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pool: ThreadPoolExecutor | None = None

    def attempt_due(self, stop: threading.Event) -> None:
        for delivery_id in self.index.due(self.clock()):
            if stop.is_set():
                return
            lane = self._lane(delivery_id)
            with self._lock:
                if lane is None or lane in self._busy or delivery_id in self._in_flight:
                    continue
                self._busy.add(lane)
                self._in_flight.add(delivery_id)
            self._executor().submit(self._attempt_in_lane, delivery_id, lane)

    def in_flight(self) -> set[str]:
        """The deliveries being attempted now."""
        with self._lock:
            return set(self._in_flight)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=f"{self.app.name}-")
        return self._pool

    def _lane(self, delivery_id: str) -> str | None:
        lane = self._lanes.get(delivery_id)
        if lane is None:
            entry = self.index.get(delivery_id)
            if entry is None:
                return None
            lane = self._lanes[delivery_id] = self.lane_of(entry)
        return lane

    def _attempt_in_lane(self, delivery_id: str, lane: str) -> None:
        outcome: str | None = RETRYING
        try:
            outcome = self.attempt(delivery_id)
        except Exception:  # recording failed (the store is away): the index still has it due
            log.exception("delivery.attempt_failed", delivery_id=delivery_id)
        finally:
            with self._lock:
                self._busy.discard(lane)
                self._in_flight.discard(delivery_id)
                if outcome != RETRYING:
                    self._lanes.pop(delivery_id, None)
            self._wake.set()

    def _idle_for(self) -> float:
        # What is due but waits for its lane is not counted: its lane's end wakes the loop.
        with self._lock:
            waiting = set(self._in_flight) | {
                d for d, lane in self._lanes.items() if lane in self._busy
            }
        times = [
            e.due
            for e in self.index.entries()
            if e.status == RETRYING and e.due is not None and e.id not in waiting
        ]
        upcoming: datetime | None = min(times, default=None)
        if upcoming is None:
            return self.idle_s
        seconds = (upcoming - self.clock()).total_seconds()
        return min(self.idle_s, max(MIN_WAIT_S, seconds))

    def finish(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
