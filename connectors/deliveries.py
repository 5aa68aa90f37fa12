"""Outbound deliveries, attempted on a retry schedule: the index, the scheduler, redrive.

A connector's process application schedules `Delivery` aggregates in its own log; the
`DeliveryScheduler` attempts them. It keeps an in-memory index of what is due, built
by following that same log from its start (so a restart rebuilds it, and a redrive
recorded by another process reaches it), and before each attempt it reads the
delivery itself: a delivery recorded as delivered or dead-lettered is never sent again.

Delivery is at least once: a process that dies after the target answered and before
`Delivery.Attempted` is stored sends again on restart, with the same idempotency key
(the delivery id), so the target can drop the repeat.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from connectors.domain import topic_of
from hub.domain.base import tenant_of
from hub.domain.deliveries import DEAD, DELIVERED, RETRYING, Delivery
from hub.ops.metrics import count_delivery

SCHEDULED = topic_of(Delivery, "Scheduled")
ATTEMPTED = topic_of(Delivery, "Attempted")
REDRIVEN = topic_of(Delivery, "Redriven")
TOPICS = (SCHEDULED, ATTEMPTED, REDRIVEN)
MIN_WAIT_S = 0.005
log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetrySchedule:
    """Exponential backoff: `base_s`, times `factor` per attempt, at most `cap_s`; a delivery
    is dead-lettered when its `max_attempts`-th attempt (since scheduled or redriven) fails.
    A `Retry-After` is honoured up to `max_retry_after_s`."""

    base_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 300.0
    max_attempts: int = 8
    max_retry_after_s: float = 3600.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 for the first)."""
        if retry_after is not None:
            return min(max(0.0, retry_after), self.max_retry_after_s)
        return min(self.cap_s, self.base_s * self.factor ** max(0, attempt - 1))


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt gave: delivered, or failed (retryable or not) with what went wrong."""

    delivered: bool
    status_code: int | None = None
    error: str = ""
    retryable: bool = False
    retry_after: float | None = None
    duration_ms: float | None = None


Send = Callable[[Delivery], AttemptResult]


@dataclass
class Entry:
    """One delivery as the index knows it."""

    id: str
    connector: str
    status: str
    version: int
    due: datetime | None
    attempts: int = 0
    round_attempts: int = 0
    last_status_code: int | None = None
    last_error: str = ""
    target: str = ""

    @property
    def tenant(self) -> str:
        return tenant_of(self.id)


class DeliveryIndex:
    """Deliveries by id from their events, applied in version order (stale ones ignored).

    Without `keep_delivered` a delivered entry is dropped (nothing can follow it), so the
    scheduler's memory holds what is pending or dead-lettered, not the whole history.
    """

    def __init__(self, *, keep_delivered: bool = True) -> None:
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self.keep_delivered = keep_delivered

    def apply(self, event: Any) -> None:
        name = type(event).__qualname__.rsplit(".", 1)[-1]
        with self._lock:
            entry = self._entries.get(event.originator_id)
            if name == "Scheduled":
                if entry is None:
                    self._entries[event.originator_id] = Entry(
                        event.originator_id,
                        event.connector,
                        RETRYING,
                        1,
                        event.timestamp,
                        target=event.target,
                    )
                return
            if entry is None or event.originator_version != entry.version + 1:
                return  # not yet seen its earlier events, or already past this one
            entry.version = event.originator_version
            if name == "Attempted":
                entry.attempts += 1
                entry.round_attempts += 1
                entry.status = event.outcome
                entry.last_status_code, entry.last_error = event.status_code, event.error
                entry.due = _parse(event.next_attempt_at) if event.outcome == RETRYING else None
                if event.outcome == DELIVERED and not self.keep_delivered:
                    del self._entries[entry.id]
            elif name == "Redriven":
                entry.status, entry.round_attempts, entry.due = RETRYING, 0, event.timestamp

    def entries(self) -> list[Entry]:
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: e.id)

    def get(self, delivery_id: str) -> Entry | None:
        with self._lock:
            return self._entries.get(delivery_id)

    def due(self, now: datetime) -> list[str]:
        """Ids of pending deliveries due by `now`, the longest-waiting first."""
        with self._lock:
            pending = [e for e in self._entries.values() if e.status == RETRYING and e.due]
        return [e.id for e in sorted(pending, key=lambda e: e.due or now) if (e.due or now) <= now]

    def next_due(self) -> datetime | None:
        with self._lock:
            times = [e.due for e in self._entries.values() if e.status == RETRYING and e.due]
        return min(times, default=None)


def _parse(moment: str | None) -> datetime | None:
    return None if moment is None else datetime.fromisoformat(moment)


def read_log(app: Application[str], page: int = 500) -> Iterator[Any]:
    """Every delivery event of `app`'s log, in order."""
    start: int | None = None
    while True:
        notifications = app.recorder.select_notifications(
            start, page, topics=TOPICS, inclusive_of_start=False
        )
        for notification in notifications:
            yield app.mapper.to_domain_event(notification)
        if len(notifications) < page:
            return
        start = notifications[-1].id


def load_index(app: Application[str]) -> DeliveryIndex:
    index = DeliveryIndex()
    for event in read_log(app):
        index.apply(event)
    return index


def _load(app: Application[str], delivery_id: str) -> tuple[Delivery, int]:
    """The delivery and its attempts since it was scheduled or last redriven."""
    delivery: Any = None
    round_attempts = 0
    events: list[Any] = list(app.repository.event_store.get(delivery_id))
    for event in events:
        delivery = event.mutate(delivery)
        name = type(event).__qualname__
        round_attempts = 0 if name.endswith(".Redriven") else round_attempts
        round_attempts += 1 if name.endswith(".Attempted") else 0
    if delivery is None:
        msg = f"no delivery {delivery_id}"
        raise LookupError(msg)
    return delivery, round_attempts


@dataclass
class DeliveryScheduler:
    """Attempts due deliveries of `app` with `send`, recording each attempt in `app`."""

    app: Application[str]
    send: Send
    retry: RetrySchedule = field(default_factory=RetrySchedule)
    clock: Callable[[], datetime] = utc_now
    idle_s: float = 1.0
    index: DeliveryIndex = field(default_factory=lambda: DeliveryIndex(keep_delivered=False))
    _wake: threading.Event = field(default_factory=threading.Event)

    def run(self, stop: threading.Event, *, keep: Callable[[], object] = lambda: None) -> None:
        """Follow the log into the index and attempt what is due, until `stop` is set.

        `keep` is called every loop (a lease refresh); what it raises ends the run.
        """
        subscription = self.app.recorder.subscribe(gt=None, topics=TOPICS)
        follower = threading.Thread(
            target=self._follow,
            args=(subscription,),
            daemon=True,
            name=f"deliveries-{self.app.name}-index",
        )
        follower.start()
        try:
            while not stop.is_set():
                keep()
                if not follower.is_alive():
                    msg = f"the subscription to the {self.app.name} log ended"
                    raise ConnectionError(msg)
                self._wake.clear()
                self.attempt_due(stop)
                self._wake.wait(self._idle_for())
        finally:
            self.finish()
            subscription.stop()
            follower.join(timeout=10)

    def attempt_due(self, stop: threading.Event) -> None:
        """Attempt what is due now, one after the other (a subclass may spread them)."""
        for delivery_id in self.index.due(self.clock()):
            if stop.is_set():
                break
            self.attempt(delivery_id)

    def finish(self) -> None:
        """Called when the run ends (a subclass waits for attempts it started)."""

    def _idle_for(self) -> float:
        upcoming = self.index.next_due()
        if upcoming is None:
            return self.idle_s
        # At least a moment: a due entry the log has moved on from is only noticed when the
        # index catches up, and the loop must not spin meanwhile.
        return min(self.idle_s, max(MIN_WAIT_S, (upcoming - self.clock()).total_seconds()))

    def _follow(self, subscription: Iterable[Any]) -> None:
        for notification in subscription:
            self.index.apply(self.app.mapper.to_domain_event(notification))
            self._wake.set()

    def attempt(self, delivery_id: str) -> str | None:
        """Attempt one delivery if it is still pending and due; its new status, else None."""
        delivery, round_attempts = _load(self.app, delivery_id)
        if delivery.status != RETRYING:
            return None
        due = _parse(delivery.next_attempt_at)
        if due is not None and due > self.clock():
            return None  # the index lags behind the log: its own events will move it
        try:
            result = self.send(delivery)
        except Exception as error:  # a sender's bug must not stop the other deliveries
            log.exception("delivery.send_failed", delivery_id=delivery_id)
            result = AttemptResult(False, error=f"{type(error).__name__}: {error}", retryable=True)
        return self._record(delivery, round_attempts + 1, result)

    def _record(self, delivery: Delivery, attempt: int, result: AttemptResult) -> str | None:
        if result.delivered:
            outcome, next_at = DELIVERED, None
        elif result.retryable and attempt < self.retry.max_attempts:
            delay = self.retry.delay(attempt, result.retry_after)
            outcome, next_at = RETRYING, (self.clock() + timedelta(seconds=delay)).isoformat()
        else:
            outcome, next_at = DEAD, None
        version = delivery.version
        for _ in range(2):
            delivery.record_attempt(
                outcome, result.status_code, result.error, next_at, result.duration_ms
            )
            try:
                self.app.save(delivery)
                break
            except IntegrityError:
                # A stale position cache makes a conflict of a write that came before our
                # read; then the delivery is as we read it, and recording again is right.
                delivery, _ = _load(self.app, delivery.id)
                if delivery.version != version:
                    log.warning("delivery.changed_meanwhile", delivery_id=delivery.id)
                    return None
        else:
            return None
        count_delivery(delivery.connector, outcome)
        log.info(
            "delivery.attempted",
            tenant_id=tenant_of(delivery.id),
            delivery_id=delivery.id,
            connector=delivery.connector,
            attempt=attempt,
            outcome=outcome,
            status_code=result.status_code,
            error=result.error,
            next_attempt_at=next_at,
        )
        return outcome


def redrive(app: Application[str], ids: Iterable[str], *, by: str) -> list[str]:
    """Re-arm the dead-lettered deliveries among `ids`; the ids it re-armed."""
    done = []
    for delivery_id in ids:
        delivery, _ = _load(app, delivery_id)
        if delivery.status != DEAD:
            continue
        delivery.redrive(by)
        app.save(delivery)
        done.append(delivery_id)
    return done


def redrive_dead(
    app: Application[str],
    connector: str,
    *,
    by: str,
    tenant: str | None = None,
    ids: Iterable[str] = (),
) -> list[str]:
    """Re-arm `connector`'s dead-lettered deliveries in `app`'s log (of `tenant`, among
    `ids` if any are given); the ids it re-armed. `hub deliveries redrive` and the
    operations pages' redrive buttons both call it."""
    wanted = set(ids)
    dead = [
        e.id
        for e in load_index(app).entries()
        if e.connector == connector
        and e.status == DEAD
        and (tenant is None or e.tenant == tenant)
        and (not wanted or e.id in wanted)
    ]
    return redrive(app, dead, by=by)
