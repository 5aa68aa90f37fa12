"""The hub as tool calls platforms' services: the `ltitool` process application and its loop.

`ltitool` follows `progress` (a completed or resubmitted task: its score goes to each
platform line item that grades the task, `connectors.lti_ags`) and the hub (an accepted
launch that carries an NRPS claim: its course's roster is read once a day,
`connectors.lti_nrps`). Each is a `Delivery` in its own log; the `ltitool-deliveries`
loop attempts them on the retry schedule, dead-letters what keeps failing, and
`hub deliveries redrive` re-arms them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.projection import EventSourcedProjection
from eventsourcing.utils import get_topic

from connectors import lti_ags, lti_nrps
from connectors.deliveries import AttemptResult, DeliveryScheduler, RetrySchedule
from connectors.domain import Progress, caused_by, topic_of
from connectors.lti_token import ToolTokens
from connectors.passback import PassbackSettings
from connectors.runner import (
    DEFAULT_BACKOFF,
    Backoff,
    ProcessSpec,
    UpstreamLog,
    Upstreams,
    logged,
    run_under_lease,
)
from connectors.spark_api import box_from_env
from hub.application import Hub
from hub.domain.base import event_context, tenant_of
from hub.domain.deliveries import Delivery, delivery_id
from hub.domain.lti_tool import LtiLaunch
from infra.lease import DEFAULT_TTL, Lease

NAME = "ltitool"
SCHEDULER = "ltitool-deliveries"
COMPLETED = get_topic(Progress.TaskCompleted)
RESUBMITTED = get_topic(Progress.TaskResubmitted)
ACCEPTED = topic_of(LtiLaunch, "Accepted")
log = structlog.get_logger(__name__)


class LtiToolServices(EventSourcedProjection[str]):
    """Schedules score and roster deliveries; decides only from what is stored."""

    name = NAME
    topics = (COMPLETED, RESUBMITTED, ACCEPTED)

    def __init__(self, env: Mapping[str, str], *, hub: Application[Any]) -> None:
        super().__init__(dict(env))
        self.hub = hub

    def policy(
        self,
        domain_event: DomainEventProtocol[Any],
        processing_event: ProcessingEvent[Any],
    ) -> None:
        topic = get_topic(type(domain_event))
        event: Any = domain_event
        if topic == ACCEPTED:
            wanted = self._roster(event)
        else:
            wanted = [
                (lti_ags.CONNECTOR, s.key, s.target, s.payload)
                for s in lti_ags.scores_for(self.hub, event)
            ]
        for connector, key, target, payload in wanted:
            tenant = tenant_of(str(event.originator_id))
            if self._exists(delivery_id(tenant, connector, key)):
                continue
            with event_context(caused_by(domain_event, source=NAME)):
                delivery = Delivery(
                    tenant=tenant,
                    connector=connector,
                    key=key,
                    target=target,
                    payload=payload,
                    caused_by=f"{event.originator_id}@{event.originator_version}",
                )
            processing_event.collect_events(delivery)
            log.info("ltitool.scheduled", tenant_id=tenant, delivery_id=delivery.id)

    def _roster(self, event: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
        """Once a day per course, when a launch names its roster service."""
        nrps = event.claims.get("nrps") or {}
        url = nrps.get("context_memberships_url")
        if not url or not event.quest_id:
            return []
        day = event.timestamp.date().isoformat()
        payload = {
            "registration_id": event.verified.get("registration_id"),
            "quest_id": event.quest_id,
        }
        return [(lti_nrps.CONNECTOR, f"{event.quest_id}|{day}", str(url), payload)]

    def _exists(self, aggregate_id: str) -> bool:
        try:
            self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True


def build(env: Mapping[str, str], upstreams: Upstreams) -> LtiToolServices:
    return LtiToolServices(env, hub=upstreams["hub"])


SPEC = ProcessSpec(NAME, build, upstreams=("hub", "progress"))


@dataclass
class LtiServiceSender:
    """One attempt of either kind of delivery."""

    scores: lti_ags.AgsScoreSender
    rosters: lti_nrps.NrpsRosterReader

    def __call__(self, delivery: Delivery) -> AttemptResult:
        if delivery.connector == lti_nrps.CONNECTOR:
            return self.rosters(delivery)
        return self.scores(delivery)


class DeliveryLog(UpstreamLog):
    """The `ltitool` log: deliveries, their attempts, and the rosters read."""

    def __init__(self, env: Mapping[str, str]) -> None:
        super().__init__(NAME, env)


def run_deliveries(
    env: Mapping[str, str],
    stop: threading.Event,
    *,
    retry: RetrySchedule | None = None,
    tokens: ToolTokens | None = None,
    lease_ttl: float = DEFAULT_TTL,
    backoff: Backoff = DEFAULT_BACKOFF,
    idle_s: float = 1.0,
) -> None:
    """Attempt due score and roster deliveries while holding the `ltitool-deliveries` lease."""

    def work(lease: Lease) -> bool:
        # hub.lti.keys mounts routes: imported here, not when the registry is imported.
        from hub.lti.keys import LtiKeys  # noqa: PLC0415

        with closing(DeliveryLog(env)) as app, closing(Hub(env=dict(env))) as hub:
            made = tokens or ToolTokens(LtiKeys(hub, box_from_env(env)))
            sender = LtiServiceSender(
                lti_ags.AgsScoreSender(hub, made), lti_nrps.NrpsRosterReader(hub, app, made)
            )
            scheduler = DeliveryScheduler(
                app, sender, retry=retry or PassbackSettings().schedule(), idle_s=idle_s
            )
            scheduler.run(stop, keep=lease.keep)
        return True

    run_under_lease(
        SCHEDULER,
        env,
        stop,
        work,
        lease_ttl=lease_ttl,
        backoff=backoff,
        transient=(ConnectionError,),
    )


run_deliveries_logged = logged(run_deliveries, SCHEDULER)
"""`run_deliveries` for `connectors.registry`: a failure is logged, not raised."""
