"""Developer webhooks: the `webhooks` process application and its delivery loop.

`webhooks` follows every event of the hub's log. For an event of a tenant, it matches
the tenant's subscriptions (`hub.domain.webhooks.WebhookRegistry`, as the log stood
when the event was processed: a paused subscription, or one made later, gets nothing)
by public event type, and schedules one `Delivery` (connector `webhooks`, keyed by
subscription and event) per match, in its own log, with the event's tracking position.
The delivery holds where the event is, not the event: the sender reads it back.

The `webhooks-deliveries` loop (`run_deliveries`, its own lease) attempts them with
`LanedScheduler`, one lane per subscriber URL (a subscriber that never answers holds
back only itself), POSTing `{"type", "timestamp", "data"}` signed per Standard Webhooks
(`infra.standard_webhooks`) to the subscription's current URL through the SSRF guard.
2xx delivers; a timeout, a transport error, 429 or 5xx is retried on the schedule
(`HUB_WEBHOOK_RETRY_SCHEDULE_S`, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h by default), then
dead-lettered; any other answer is dead-lettered at once. `hub deliveries list|redrive
--connector webhooks` and the API's redrive re-arm them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import structlog
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Tracking
from eventsourcing.projection import EventSourcedProjection
from eventsourcing.utils import get_topic
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.caliper_delivery import StepSchedule
from connectors.deliveries import AttemptResult, RetrySchedule
from connectors.delivery_lanes import LanedScheduler
from connectors.delivery_loop import run_delivery_loop, sender_on_hub_log
from connectors.domain import caused_by
from connectors.runner import (
    DEFAULT_BACKOFF,
    Backoff,
    ProcessSpec,
    UpstreamLog,
    Upstreams,
    logged,
)
from connectors.spark_api import box_from_env
from hub.domain.base import event_context, tenant_of, type_of
from hub.domain.deliveries import Delivery
from hub.domain.webhooks import WebhookRegistry
from hub.replay import event_type_of, to_json_line
from hub.webhooks.subscriptions import read_registry, signing_secrets
from infra.http import BlockedAddressError, guarded_client
from infra.lease import DEFAULT_TTL
from infra.secrets import SecretBox
from infra.standard_webhooks import signed_headers

NAME = "webhooks"
CONNECTOR = "webhooks"
SCHEDULER = "webhooks-deliveries"
REGISTRY_TYPE = WebhookRegistry.__name__
ENVELOPE_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic"}
)
TRACK_EVERY = 500
REGISTRY_TTL_S = 1.0
log = structlog.get_logger(__name__)


class WebhookDeliverySettings(BaseSettings):
    """`HUB_WEBHOOK_*`: the retry schedule (seconds, comma-separated), the attempt's
    timeout, how many subscribers are attempted at once, how long the loop idles, how
    long the sender keeps a tenant's subscriptions before reading them again."""

    model_config = SettingsConfigDict(env_prefix="HUB_WEBHOOK_", extra="ignore")

    retry_schedule_s: str = "5,300,1800,7200,18000,36000"
    timeout_s: float = Field(default=15.0, gt=0)
    workers: int = Field(default=16, ge=1, le=256)
    idle_s: float = Field(default=1.0, gt=0)
    registry_ttl_s: float = Field(default=REGISTRY_TTL_S, ge=0)

    def schedule(self) -> StepSchedule:
        return StepSchedule.of([float(s) for s in self.retry_schedule_s.split(",") if s.strip()])


def event_id(originator_id: str, version: int) -> str:
    """An event's id: its aggregate and version (the same on every replay)."""
    return f"{originator_id}@{version}"


# The process application -------------------------------------------------------------------


class WebhookFanout(EventSourcedProjection[str]):
    """The `webhooks` application: one delivery per (matching subscription, event)."""

    name = NAME
    topics = ()  # every event of the hub's log

    def __init__(self, env: Mapping[str, str], *, hub: Application[Any]) -> None:
        super().__init__(dict(env))
        self.hub = hub
        self._registries: dict[str, WebhookRegistry | None] = {}
        self._recorded: int | None = None  # the position last recorded

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """As the library does, except that an event that schedules nothing (most of the
        log) records its position only every `TRACK_EVERY` events: one write per hub event
        would double the log's writes. A restart processes those events again; they
        schedule nothing again, and what did schedule recorded its position with it."""
        if self._recorded is None:
            self._recorded = self.recorder.max_tracking_id(tracking.application_name) or 0
        processing_event = ProcessingEvent[str](tracking=tracking)
        self.policy(domain_event, processing_event)
        if not processing_event.events and (
            tracking.notification_id - self._recorded < TRACK_EVERY
        ):
            return
        self._record(processing_event)
        self._recorded = tracking.notification_id

    def registry(self, tenant: str) -> WebhookRegistry | None:
        """The tenant's registry as last processed (read once, then kept up to date by its
        events passing through the policy; none is remembered too)."""
        if tenant not in self._registries:
            self._registries[tenant] = read_registry(self.hub, tenant)
        return self._registries[tenant]

    def policy(
        self,
        domain_event: DomainEventProtocol[Any],
        processing_event: ProcessingEvent[Any],
    ) -> None:
        happened: Any = domain_event
        originator = str(happened.originator_id)
        tenant = tenant_of(originator)
        if type_of(originator) == REGISTRY_TYPE:
            self._registries[tenant] = self.hub.repository.get(
                originator, version=happened.originator_version
            )
        registry = self.registry(tenant)
        if registry is None:
            return
        event_type = event_type_of(get_topic(type(happened)))
        matching = [
            s
            for s in registry.listed()
            if s.wants(event_type) and datetime.fromisoformat(s.subscribed_at) <= happened.timestamp
        ]
        if not matching:
            return
        tracking = processing_event.tracking
        position = tracking.notification_id if tracking is not None else None
        the_event = event_id(originator, happened.originator_version)
        with event_context(caused_by(happened, source=NAME)):
            deliveries = [
                Delivery(
                    tenant=tenant,
                    connector=CONNECTOR,
                    key=f"{s.id}/{the_event}",
                    target=s.url,
                    payload={
                        "subscription_id": s.id,
                        "event_id": the_event,
                        "event_type": event_type,
                        "aggregate_id": originator,
                        "version": happened.originator_version,
                        "position": position,
                        "occurred_at": happened.timestamp.isoformat(),
                    },
                    caused_by=the_event,
                )
                for s in matching
            ]
        processing_event.collect_events(*deliveries)
        log.info(
            "webhooks.scheduled", tenant_id=tenant, event_type=event_type, count=len(deliveries)
        )


def build(env: Mapping[str, str], upstreams: Upstreams) -> WebhookFanout:
    return WebhookFanout(env, hub=upstreams["hub"])


SPEC = ProcessSpec(NAME, build, upstreams=("hub",))


# The sender ---------------------------------------------------------------------------------


def body_of(event: Any, payload: Mapping[str, Any]) -> bytes:
    """The JSON body of a delivery: the event's type and time, and in `data` where it is in
    the log and its fields (sealed secrets left out: they are no subscriber's business)."""
    fields = {
        k: v
        for k, v in vars(event).items()
        if k not in ENVELOPE_FIELDS and not k.endswith("_sealed")
    }
    context = fields.pop("context", {})
    document = {
        "type": payload["event_type"],
        "timestamp": event.timestamp.isoformat(),
        "data": {
            "tenant": tenant_of(payload["aggregate_id"]),
            "event_id": payload["event_id"],
            "aggregate_id": payload["aggregate_id"],
            "version": payload["version"],
            "position": payload["position"],
            "context": context,
            "payload": fields,
        },
    }
    return to_json_line(document).encode()


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@dataclass
class WebhookSender:
    """One attempt: the subscription as it is now (its URL, secrets, allow-listed hosts),
    the event read back from the hub's log, POSTed with the Standard Webhooks headers."""

    hub: Application[Any]
    box: SecretBox
    timeout_s: float = 15.0
    clock: Any = field(default=lambda: datetime.now(UTC))
    registry_ttl_s: float = REGISTRY_TTL_S
    _clients: dict[tuple[str, ...], httpx.Client] = field(default_factory=dict)
    _registries: dict[str, tuple[float, WebhookRegistry | None]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def registry(self, tenant: str) -> WebhookRegistry | None:
        """The tenant's registry, read at most every `registry_ttl_s` (a change of URL,
        pause or secret reaches the sender within that)."""
        now = time.monotonic()
        with self._lock:
            read_at, found = self._registries.get(tenant, (-self.registry_ttl_s, None))
        if now - read_at < self.registry_ttl_s:
            return found
        found = read_registry(self.hub, tenant)
        with self._lock:
            self._registries[tenant] = (now, found)
        return found

    def client(self, allowed_hosts: Sequence[str]) -> httpx.Client:
        key = tuple(sorted(allowed_hosts))
        with self._lock:
            if key not in self._clients:
                timeout = httpx.Timeout(self.timeout_s, connect=min(5.0, self.timeout_s))
                self._clients[key] = guarded_client(allowed_hosts=key, timeout=timeout)
            return self._clients[key]

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def event(self, payload: Mapping[str, Any]) -> Any:
        version = int(payload["version"])
        found = self.hub.repository.event_store.get(
            payload["aggregate_id"], gt=version - 1, lte=version
        )
        return next(iter(found), None)

    def __call__(self, delivery: Delivery) -> AttemptResult:
        payload = delivery.payload
        tenant = tenant_of(delivery.id)
        registry = self.registry(tenant)
        if registry is None or payload["subscription_id"] not in registry.subscriptions:
            return AttemptResult(False, error="the subscription was deleted")
        subscription = registry.subscription(payload["subscription_id"])
        if subscription.paused:
            return AttemptResult(False, error="the subscription is paused", retryable=True)
        event = self.event(payload)
        if event is None:
            return AttemptResult(False, error="the event is no longer in the hub's log")
        body = body_of(event, payload)
        now = self.clock()
        secrets = signing_secrets(subscription, self.box, tenant, now)
        headers = {
            "Content-Type": "application/json",
            **signed_headers(secrets, delivery.id, int(now.timestamp()), body),
        }
        return self.post(registry.allowed_hosts, subscription.url, body, headers)

    def post(
        self, allowed_hosts: Sequence[str], url: str, body: bytes, headers: dict[str, str]
    ) -> AttemptResult:
        started = time.perf_counter()

        def took() -> float:
            return round((time.perf_counter() - started) * 1000, 1)

        try:
            response = self.client(allowed_hosts).post(url, content=body, headers=headers)
        except BlockedAddressError as error:
            return AttemptResult(False, error=f"refused address: {error}", duration_ms=took())
        except httpx.TimeoutException as error:
            message = f"timed out after {self.timeout_s} s ({type(error).__name__})"
            return AttemptResult(False, error=message, retryable=True, duration_ms=took())
        except httpx.TransportError as error:
            message = f"{type(error).__name__}: {error}"
            return AttemptResult(False, error=message, retryable=True, duration_ms=took())
        if response.is_success:
            return AttemptResult(True, response.status_code, duration_ms=took())
        return AttemptResult(
            False,
            response.status_code,
            f"the subscriber answered {response.status_code}",
            retryable=_retryable(response.status_code),
            retry_after=_retry_after(response),
            duration_ms=took(),
        )


def run_deliveries(
    env: Mapping[str, str],
    stop: threading.Event,
    *,
    settings: WebhookDeliverySettings | None = None,
    retry: RetrySchedule | None = None,
    lease_ttl: float = DEFAULT_TTL,
    owner: str | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> None:
    """Attempt due webhook deliveries while this process holds the `webhooks-deliveries` lease."""
    config = settings or WebhookDeliverySettings()

    def make_sender(hub: UpstreamLog) -> WebhookSender:
        return WebhookSender(
            hub, box_from_env(env), timeout_s=config.timeout_s, registry_ttl_s=config.registry_ttl_s
        )

    run_delivery_loop(
        env,
        stop,
        lease=SCHEDULER,
        log_name=NAME,
        open_sender=partial(sender_on_hub_log, env, make_sender),
        retry=retry or config.schedule(),
        idle_s=config.idle_s,
        lease_ttl=lease_ttl,
        owner=owner,
        backoff=backoff,
        scheduler=partial(LanedScheduler, workers=config.workers),
    )


run_deliveries_logged = logged(run_deliveries, SCHEDULER)
