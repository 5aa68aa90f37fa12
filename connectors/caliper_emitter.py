"""The `caliper` process application: hub events in, Caliper 1.2 envelopes on the Caliper stream.

It follows the hub's log (the topics of `hub.caliper.mapping.SOURCES`, and the tenants'
Caliper settings). For each source event of a tenant that has Caliper on, it maps the
event, drops the event types the tenant turned off, validates every event against the
Caliper 1.2 rules and only then publishes them, one envelope each, on
`<prefix>.caliper.<tenant>.<EventType>`. An event that breaks a rule raises
`CaliperValidationError` out of the policy: the connector stops, loudly, and nothing of
that source event is published (a fixed mapping resumes from it).

A tenant's settings are cached and dropped when its settings event passes through this
same ordered subscription, so an event recorded after a tenant turned Caliper off is
never emitted. Publishing comes before the tracking position is recorded: a process
that dies in between publishes again on restart, with the same `Nats-Msg-Id` (the
Caliper event id), which the stream drops within its duplicate window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.projection import EventSourcedProjection

from connectors.caliper_stream import CaliperStream, envelope_for
from connectors.runner import ProcessSpec, Upstreams
from connectors.spark_api import box_from_env
from hub.caliper.iris import Iris, People
from hub.caliper.mapping import SOURCES, Context, Reader, Synced, map_event
from hub.caliper.settings import CaliperSettings, caliper_settings_id, pseudonym_context
from hub.domain.base import tenant_of
from hub.domain.learners import identity_id
from hub.domain.quests import task_id
from infra.secrets import SecretBox

NAME = "caliper"
SETTINGS_TOPICS = (
    "hub.caliper.settings:CaliperSettings.Configured",
    "hub.caliper.settings:CaliperSettings.Reconfigured",
)
TASK_TTL_S = 30.0
log = structlog.get_logger(__name__)


class HubLookups:
    """`Lookups` on the hub's log: identities and what names quests and tasks (they never
    move: cached for good) and tasks' details (cached for `TASK_TTL_S`)."""

    def __init__(self, hub: Application[Any]) -> None:
        self.hub = hub
        self._learners: dict[str, str] = {}
        self._tasks: dict[str, tuple[float, Mapping[str, Any]]] = {}
        self._synced: dict[str, Synced] = {}
        self._lock = threading.Lock()

    def _get(self, aggregate_id: str) -> Any:
        try:
            return self.hub.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def learner_of(self, tenant: str, source: str, external_id: str) -> str | None:
        key = identity_id(tenant, source, external_id)
        with self._lock:
            known = self._learners.get(key)
        if known is not None:
            return known
        identity = self._get(key)
        if identity is None:
            return None
        with self._lock:
            self._learners[key] = str(identity.learner_id)
        return str(identity.learner_id)

    def task_details(self, tenant: str, source: str, external_id: str) -> Mapping[str, Any]:
        key = task_id(tenant, source, external_id)
        now = time.monotonic()
        with self._lock:
            cached = self._tasks.get(key)
        if cached is not None and now - cached[0] < TASK_TTL_S:
            return cached[1]
        task = self._get(key)
        details: Mapping[str, Any] = dict(task.details) if task is not None else {}
        with self._lock:
            self._tasks[key] = (now, details)
        return details

    def synced(self, aggregate_id: str) -> Synced | None:
        with self._lock:
            known = self._synced.get(aggregate_id)
        if known is not None:
            return known
        found = self._get(aggregate_id)
        if found is None or not hasattr(found, "external_id"):
            return None
        synced = Synced(str(found.source), str(found.external_id), getattr(found, "quest_id", None))
        with self._lock:
            self._synced[aggregate_id] = synced
        return synced


@dataclass(frozen=True)
class TenantView:
    """A tenant's settings as the emitter uses them (the pseudonym key opened)."""

    settings: CaliperSettings
    pseudonym_key: str | None

    def emits(self, event_type: str) -> bool:
        return self.settings.emits(event_type)


class SettingsCache:
    """Tenants' Caliper settings, read from the hub's log, dropped on change."""

    def __init__(self, hub: Application[Any], box: SecretBox) -> None:
        self.hub = hub
        self.box = box
        self._views: dict[str, TenantView | None] = {}

    def get(self, tenant: str) -> TenantView | None:
        if tenant not in self._views:
            self._views[tenant] = self._read(tenant)
        return self._views[tenant]

    def invalidate(self, tenant: str) -> None:
        self._views.pop(tenant, None)

    def _read(self, tenant: str) -> TenantView | None:
        try:
            settings: CaliperSettings = self.hub.repository.get(caliper_settings_id(tenant))
        except AggregateNotFoundError:
            return None
        key = None
        if settings.pseudonymous:
            key = self.box.decrypt(settings.pseudonym_key_sealed, context=pseudonym_context(tenant))
        return TenantView(settings, key)


class CaliperEmitter(EventSourcedProjection[str]):
    """The `caliper` process application: it records only its position; envelopes go to
    the Caliper stream."""

    name = NAME
    topics = (*SOURCES, *SETTINGS_TOPICS)

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        hub: Application[Any],
        box: SecretBox,
        stream: CaliperStream | None = None,
        table: Mapping[str, Reader] | None = None,
    ) -> None:
        super().__init__(dict(env))
        self.settings = SettingsCache(hub, box)
        self.lookups = HubLookups(hub)
        self.stream = stream or CaliperStream(env)
        self.table = table

    def policy(
        self,
        domain_event: DomainEventProtocol[Any],
        processing_event: ProcessingEvent[Any],
    ) -> None:
        tenant = tenant_of(str(domain_event.originator_id))
        if type(domain_event).__qualname__.startswith("CaliperSettings."):
            self.settings.invalidate(tenant)
            return
        view = self.settings.get(tenant)
        if view is None or not view.settings.enabled:
            return
        iris = Iris(tenant, view.pseudonym_key)
        context = Context(iris, People(iris, view.pseudonym_key), self.lookups)
        events = map_event(domain_event, context, self.table)
        sensor = iris.sensor()
        # Every envelope (and its event) is checked before any leaves, wanted or not: a
        # mapping bug stops the emitter even for a tenant that turned that type off.
        envelopes = [envelope_for(sensor, event.to_json(check=False)).to_json() for event in events]
        wanted = [body for body in envelopes if view.emits(body["data"][0]["type"])]
        if not wanted:
            return
        self.stream.publish(tenant, wanted)
        log.info(
            "caliper.emitted",
            tenant_id=tenant,
            source=f"{domain_event.originator_id}@{domain_event.originator_version}",
            events=[f"{b['data'][0]['type']}.{b['data'][0]['action']}" for b in wanted],
        )


def build(env: Mapping[str, str], upstreams: Upstreams) -> CaliperEmitter:
    return CaliperEmitter(env, hub=upstreams["hub"], box=box_from_env(env))


SPEC = ProcessSpec(NAME, build, upstreams=("hub",))
