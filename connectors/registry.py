"""The connectors `hub connect` runs: process applications following the hub's log.

Each issue registers its connector here (evidence download and progress come from
`connectors.runner.ProcessSpec.run`; Spark grade passback, Caliper and webhook
delivery join them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog
from eventsourcing.application import Application

from connectors import (
    badges,
    caliper_delivery,
    caliper_emitter,
    evidence,
    lti_ags,
    lti_nrps,
    lti_services,
    notifications,
    outbox,
    passback,
    progress,
    schedule,
    webhooks,
)
from connectors.runner import UpstreamLog
from connectors.sis import people as roster_people
from connectors.sis import schedule as sis_schedule

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ConnectorSpec:
    name: str
    run: Callable[[dict[str, str], threading.Event], None]


CONNECTORS: tuple[ConnectorSpec, ...] = (
    ConnectorSpec(evidence.SPEC.name, evidence.SPEC.run),
    ConnectorSpec(progress.SPEC.name, progress.SPEC.run),
    ConnectorSpec(passback.SPEC.name, passback.SPEC.run),
    ConnectorSpec(passback.SCHEDULER, passback.run_deliveries_logged),
    ConnectorSpec(schedule.NAME, schedule.run_daily_sync_logged),
    # Caliper: envelopes onto the Caliper stream, then batched HTTP delivery.
    ConnectorSpec(caliper_emitter.SPEC.name, caliper_emitter.SPEC.run),
    ConnectorSpec(caliper_delivery.NAME, caliper_delivery.run_batcher_logged),
    ConnectorSpec(caliper_delivery.SENDER, caliper_delivery.run_sender_logged),
    # LTI as a tool: scores to the platforms' AGS, their NRPS rosters read.
    ConnectorSpec(lti_services.SPEC.name, lti_services.SPEC.run),
    ConnectorSpec(lti_services.SCHEDULER, lti_services.run_deliveries_logged),
    ConnectorSpec(badges.SPEC.name, badges.SPEC.run),
    ConnectorSpec(notifications.SPEC.name, notifications.SPEC.run),
    ConnectorSpec(outbox.SPEC.name, outbox.SPEC.run),
    ConnectorSpec(outbox.SCHEDULER, outbox.run_deliveries_logged),
    ConnectorSpec(sis_schedule.NAME, sis_schedule.run_schedules_logged),
    ConnectorSpec(roster_people.NAME, roster_people.run_people),
    # Developer webhooks: one delivery per (subscription, event), signed, retried.
    ConnectorSpec(webhooks.SPEC.name, webhooks.SPEC.run),
    ConnectorSpec(webhooks.SCHEDULER, webhooks.run_deliveries_logged),
)


DELIVERY_LOGS: dict[str, str] = {
    passback.CONNECTOR: passback.NAME,
    caliper_delivery.CONNECTOR: caliper_delivery.NAME,
    lti_ags.CONNECTOR: lti_services.NAME,
    lti_nrps.CONNECTOR: lti_services.NAME,
}
"""Connector of a `Delivery` -> the application whose log holds it (`hub deliveries`)."""
DELIVERY_LOGS[outbox.CONNECTOR] = outbox.NAME
DELIVERY_LOGS[webhooks.CONNECTOR] = webhooks.NAME


def delivery_log(connector: str, env: Mapping[str, str]) -> Application[str]:
    """The log of `connector`'s deliveries, to read and to redrive; raises KeyError if none."""
    if connector not in DELIVERY_LOGS:
        known = ", ".join(sorted(DELIVERY_LOGS))
        msg = f"no connector delivers {connector!r} (known: {known})"
        raise KeyError(msg)
    return UpstreamLog(DELIVERY_LOGS[connector], env)


def start_connectors(env: dict[str, str], stop: threading.Event) -> list[threading.Thread]:
    threads = []
    for spec in CONNECTORS:
        thread = threading.Thread(
            target=spec.run, args=(env, stop), name=f"connector-{spec.name}", daemon=True
        )
        thread.start()
        threads.append(thread)
    log.info("connectors.started", names=[spec.name for spec in CONNECTORS])
    return threads
