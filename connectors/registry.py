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

from connectors import evidence, passback, progress, schedule
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
    ConnectorSpec(sis_schedule.NAME, sis_schedule.run_schedules_logged),
    ConnectorSpec(roster_people.NAME, roster_people.run_people),
)


DELIVERY_LOGS: dict[str, str] = {passback.CONNECTOR: passback.NAME}
"""Connector of a `Delivery` -> the application whose log holds it (`hub deliveries`)."""


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
