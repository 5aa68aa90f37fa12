"""HTTP delivery of Caliper envelopes to each tenant's endpoint: batches, retries, dead letters.

Two loops, each under its own lease, sharing the `caliper-http` application's log:

- the batcher (`run_batcher`, lease `connector.caliper-http`) follows the Caliper stream
  from its tracking position, groups what arrived by tenant into batches (at most
  `batch_size` events and `batch_max_bytes` of JSON), and records one `Delivery` per
  batch (connector `caliper-http`, keyed by the batch's first and last stream sequence)
  with the new position, in one commit: a restart neither loses nor repeats a batch.
  A delivery holds the batch's range, not its envelopes: they stay on the Caliper
  stream, under its retention (90 days), and are read back when sent, so no copy of a
  learner's data outlives it in the event log. A tenant without an endpoint gets no
  batch (its envelopes are on the stream only);
- the sender (`run_sender`, lease `connector.caliper-http-deliveries`) attempts due
  deliveries with `connectors.deliveries.DeliveryScheduler`: POST one envelope holding
  the batch's events to the endpoint with the tenant's bearer token, then retry on the
  schedule (1, 5, 15 and 60 minutes by default, `HUB_CALIPER_RETRY_SCHEDULE_S`), then
  dead letter. `hub deliveries list|redrive --connector caliper-http` sees and re-arms them.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import structlog
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Tracking
from eventsourcing.projection import EventSourcedProjection
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.caliper_stream import CaliperStream, Published
from connectors.deliveries import AttemptResult, RetrySchedule
from connectors.delivery_loop import run_delivery_loop, sender_on_hub_log
from connectors.runner import (
    DEFAULT_BACKOFF,
    Backoff,
    UpstreamLog,
    logged,
    run_under_lease,
)
from connectors.spark_api import box_from_env
from hub.caliper.settings import CaliperSettings, caliper_settings_id, token_context
from hub.domain.base import EventContext, event_context, tenant_of
from hub.domain.deliveries import Delivery
from infra.http import guarded_client
from infra.lease import DEFAULT_TTL, Lease
from infra.secrets import SecretBox
from schemas.caliper import caliper_time
from schemas.caliper_rules import DATA_VERSION

NAME = "caliper-http"
CONNECTOR = "caliper-http"
SENDER = "caliper-http-deliveries"
STREAM_UPSTREAM = "caliper-stream"
log = structlog.get_logger(__name__)


class CaliperDeliverySettings(BaseSettings):
    """`HUB_CALIPER_*`: the retry schedule (seconds, comma-separated) and batch limits."""

    model_config = SettingsConfigDict(env_prefix="HUB_CALIPER_", extra="ignore")

    retry_schedule_s: str = "60,300,900,3600"
    batch_size: int = 500
    batch_max_bytes: int = 512 * 1024  # of events in one POST
    timeout_s: float = 10.0
    idle_s: float = 0.05

    def schedule(self) -> StepSchedule:
        return StepSchedule.of(float(s) for s in self.retry_schedule_s.split(",") if s.strip())


@dataclass(frozen=True)
class StepSchedule(RetrySchedule):
    """Retries after fixed delays (`delays[n]` after the n+1-th failed attempt), then dead
    letter: `max_attempts` is one more than the delays. A longer `Retry-After` wins."""

    delays: tuple[float, ...] = (60.0, 300.0, 900.0, 3600.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_attempts", len(self.delays) + 1)

    @classmethod
    def of(cls, delays: Iterator[float] | Sequence[float]) -> StepSchedule:
        steps = tuple(delays)
        if not steps or any(d < 0 for d in steps):
            msg = "a retry schedule is one or more delays of zero seconds or more"
            raise ValueError(msg)
        return cls(delays=steps, cap_s=max(steps))

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        step = self.delays[min(max(attempt, 1), len(self.delays)) - 1]
        if retry_after is None:
            return step
        return max(step, min(max(0.0, retry_after), self.max_retry_after_s))


# The batcher ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """Envelopes of one tenant, in stream order, to send as one."""

    tenant: str
    items: list[Published]

    @property
    def key(self) -> str:
        return f"{self.items[0].seq}-{self.items[-1].seq}"


def batches(read: Sequence[Published], *, max_events: int, max_bytes: int) -> list[Batch]:
    """`read` grouped by tenant, each group cut at `max_events` events or `max_bytes`."""
    by_tenant: dict[str, list[list[Published]]] = {}
    sizes: dict[str, int] = {}
    for item in read:
        size = len(item.events_json) + 1
        groups = by_tenant.setdefault(item.tenant, [[]])
        if groups[-1] and (len(groups[-1]) >= max_events or sizes[item.tenant] + size > max_bytes):
            groups.append([])
            sizes[item.tenant] = 0
        groups[-1].append(item)
        sizes[item.tenant] = sizes.get(item.tenant, 0) + size
    return [Batch(t, group) for t, groups in by_tenant.items() for group in groups]


def payload_of(batch: Batch) -> dict[str, Any]:
    """What a delivery keeps: the sensor, and where its envelopes are on the stream (the
    batch is every envelope of its tenant from `first_seq` to `last_seq`)."""
    return {
        "sensor": batch.items[0].envelope["sensor"],
        "count": len(batch.items),
        "first_seq": batch.items[0].seq,
        "last_seq": batch.items[-1].seq,
    }


@dataclass(frozen=True)
class ReadBatches:
    """What one round of the batcher read: its batches and the last stream sequence."""

    batches: list[Batch]
    last_seq: int


class CaliperDeliveries(EventSourcedProjection[str]):
    """The `caliper-http` application: `Delivery` aggregates of Caliper batches."""

    name = NAME
    topics = ()

    def __init__(self, env: Mapping[str, str], *, hub: Application[Any] | None = None) -> None:
        super().__init__(dict(env))
        self.hub = hub

    def policy(
        self,
        domain_event: DomainEventProtocol[Any] | ReadBatches,
        processing_event: ProcessingEvent[Any],
    ) -> None:
        assert isinstance(domain_event, ReadBatches)
        targets: dict[str, str | None] = {}
        for batch in domain_event.batches:
            if batch.tenant not in targets:
                targets[batch.tenant] = self.endpoint(batch.tenant)
            target = targets[batch.tenant]
            if target is not None:
                processing_event.collect_events(
                    Delivery(
                        tenant=batch.tenant,
                        connector=CONNECTOR,
                        key=batch.key,
                        target=target,
                        payload=payload_of(batch),
                        caused_by=f"{STREAM_UPSTREAM}:{batch.key}",
                    )
                )

    def endpoint(self, tenant: str) -> str | None:
        """The tenant's endpoint now (None: Caliper off, or no endpoint)."""
        return None if self.hub is None else endpoint_of(self.hub, tenant)

    def record_round(self, read: ReadBatches) -> None:
        """The round's deliveries and the new stream position, in one commit."""
        with event_context(EventContext(read_id(read), read_id(read), source=NAME)):
            self.process_event(read, Tracking(STREAM_UPSTREAM, read.last_seq))  # type: ignore[arg-type]

    def position(self) -> int:
        return self.recorder.max_tracking_id(STREAM_UPSTREAM) or 0


def read_id(read: ReadBatches) -> str:
    return f"{STREAM_UPSTREAM}@{read.last_seq}"


def endpoint_of(hub: Application[Any], tenant: str) -> str | None:
    settings = _settings(hub, tenant)
    if settings is None or not settings.enabled or not settings.endpoint_url:
        return None
    return settings.endpoint_url


def _settings(hub: Application[Any], tenant: str) -> CaliperSettings | None:
    try:
        found: CaliperSettings = hub.repository.get(caliper_settings_id(tenant))
    except AggregateNotFoundError:
        return None
    return found


@dataclass
class Batcher:
    """Follows the Caliper stream from the recorded position and records batches: each
    round takes what has arrived, at most `batch_size` envelopes."""

    app: CaliperDeliveries
    stream: CaliperStream
    settings: CaliperDeliverySettings = field(default_factory=CaliperDeliverySettings)
    _arrived: queue.SimpleQueue[list[Published]] = field(default_factory=queue.SimpleQueue)
    _pending: list[Published] = field(default_factory=list)

    def record(self, read: Sequence[Published]) -> None:
        cut = batches(
            read, max_events=self.settings.batch_size, max_bytes=self.settings.batch_max_bytes
        )
        self.app.record_round(ReadBatches(cut, read[-1].seq))

    def _take(self, wait_s: float) -> list[Published]:
        """Up to `batch_size` envelopes that arrived (waiting at most `wait_s` for one)."""
        size = self.settings.batch_size
        if not self._pending:
            try:
                self._pending.extend(self._arrived.get(timeout=wait_s))
            except queue.Empty:
                return []
        while len(self._pending) < size:
            try:
                self._pending.extend(self._arrived.get_nowait())
            except queue.Empty:
                break
        taken, self._pending = self._pending[:size], self._pending[size:]
        return taken

    def run(self, stop: threading.Event, keep: Callable[[], object]) -> None:
        stop_following = self.stream.follow(self.app.position(), self._arrived.put)
        try:
            while not stop.is_set():
                keep()
                taken = self._take(self.settings.idle_s)
                if taken:
                    self.record(taken)
        finally:
            stop_following()


def run_batcher(
    env: Mapping[str, str],
    stop: threading.Event,
    *,
    settings: CaliperDeliverySettings | None = None,
    lease_ttl: float = DEFAULT_TTL,
    owner: str | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> None:
    """Batch the Caliper stream into deliveries while this process holds the lease."""

    def work(lease: Lease) -> bool:
        with (
            closing(UpstreamLog("hub", env)) as hub,
            closing(CaliperDeliveries(env, hub=hub)) as app,
        ):
            batcher = Batcher(app, CaliperStream(env), settings or CaliperDeliverySettings())
            batcher.run(stop, lease.keep)
        return True

    run_under_lease(NAME, env, stop, work, lease_ttl=lease_ttl, owner=owner, backoff=backoff)


# The sender -------------------------------------------------------------------------------

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@dataclass
class CaliperSender:
    """One attempt: POST the batch as one envelope to the tenant's current endpoint (an
    admin who fixes a wrong URL, then redrives, reaches the right one; the delivery's
    `target` is where it was first meant to go) with the current bearer token."""

    hub: Application[Any]
    box: SecretBox
    stream: CaliperStream
    timeout_s: float = 10.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    _clients: dict[tuple[str, ...], httpx.Client] = field(default_factory=dict)

    def client(self, allowed_hosts: Sequence[str]) -> httpx.Client:
        key = tuple(sorted(allowed_hosts))
        if key not in self._clients:
            timeout = httpx.Timeout(self.timeout_s, connect=min(5.0, self.timeout_s))
            self._clients[key] = guarded_client(allowed_hosts=key, timeout=timeout)
        return self._clients[key]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def envelope(self, sensor: str, envelopes: Sequence[Published]) -> bytes:
        """One envelope of the batch's events, sent now (the events are not parsed: each
        stored envelope's events are joined as they are)."""
        head = {
            "sensor": sensor,
            "sendTime": caliper_time(self.clock()),
            "dataVersion": DATA_VERSION,
        }
        events = b",".join(item.events_json for item in envelopes)
        return b"".join(
            (json.dumps(head, separators=(",", ":"))[:-1].encode(), b',"data":[', events, b"]}")
        )

    def __call__(self, delivery: Delivery) -> AttemptResult:
        tenant = tenant_of(delivery.id)
        settings = _settings(self.hub, tenant)
        if settings is None or not settings.enabled:
            return AttemptResult(False, error="Caliper is off for the tenant")
        payload = delivery.payload
        stored = self.stream.read_range(
            tenant, payload["first_seq"], payload["last_seq"], count=payload["count"]
        )
        if len(stored) != payload["count"]:
            return AttemptResult(
                False,
                error=f"{payload['count'] - len(stored)} of the batch's envelopes are no longer "
                "on the Caliper stream (past its retention)",
            )
        headers = {"Content-Type": "application/json", "Idempotency-Key": delivery.id}
        if settings.token_sealed:
            token = self.box.decrypt(settings.token_sealed, context=token_context(tenant))
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self.client(settings.allowed_hosts).post(
                settings.endpoint_url or delivery.target,
                content=self.envelope(payload["sensor"], stored),
                headers=headers,
            )
        except httpx.TimeoutException as error:
            return AttemptResult(False, error=f"timed out: {error}", retryable=True)
        except httpx.TransportError as error:
            return AttemptResult(False, error=f"{type(error).__name__}: {error}", retryable=True)
        if response.is_success:
            return AttemptResult(True, response.status_code)
        return AttemptResult(
            False,
            response.status_code,
            f"the endpoint answered {response.status_code}",
            retryable=response.status_code in RETRYABLE_STATUS,
            retry_after=_retry_after(response),
        )


class DeliveryLog(UpstreamLog):
    """The `caliper-http` log, written by the sender (attempts) and by redrives."""

    def __init__(self, env: Mapping[str, str]) -> None:
        super().__init__(NAME, env)


def run_sender(
    env: Mapping[str, str],
    stop: threading.Event,
    *,
    settings: CaliperDeliverySettings | None = None,
    retry: RetrySchedule | None = None,
    lease_ttl: float = DEFAULT_TTL,
    owner: str | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> None:
    """Attempt due Caliper deliveries while this process holds the sender's lease."""
    config = settings or CaliperDeliverySettings()

    def make_sender(hub: UpstreamLog) -> CaliperSender:
        return CaliperSender(hub, box_from_env(env), CaliperStream(env), timeout_s=config.timeout_s)

    run_delivery_loop(
        env,
        stop,
        lease=SENDER,
        log_name=NAME,
        open_sender=partial(sender_on_hub_log, env, make_sender),
        retry=retry or config.schedule(),
        idle_s=max(config.idle_s, 0.01),
        lease_ttl=lease_ttl,
        owner=owner,
        backoff=backoff,
    )


run_batcher_logged = logged(run_batcher, NAME)
run_sender_logged = logged(run_sender, SENDER)
