"""What the projection tests record and run: a probe aggregate, and runners in threads."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import event

from hub.application import Hub
from hub.domain.base import HubAggregate, aggregate_id, tenant_of
from projections.registry import ProjectionSpec
from projections.runner import run_spec
from projections.status import ProjectionStatus

Row = tuple[str, str, int, int]


class Probe(HubAggregate):
    """A test aggregate of one tenant: one event when made, one per ping."""

    @staticmethod
    def create_id(tenant: str, key: str) -> str:
        return aggregate_id(tenant, "Probe", key)

    @event("Made")
    def __init__(self, tenant: str, key: str) -> None:
        self.key = key

    @event("Pinged")
    def ping(self) -> None:
        pass


@dataclass
class Ledger:
    """The rows the event counts read model must hold for what a test recorded."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    last: dict[tuple[str, str], int] = field(default_factory=dict)
    head: int = 0

    def add(self, tenant: str, event_type: str, position: int) -> None:
        self.counts[tenant, event_type] += 1
        self.last[tenant, event_type] = position
        self.head = max(self.head, position)

    def rows(self) -> list[Row]:
        return [(t, e, n, self.last[t, e]) for (t, e), n in sorted(self.counts.items())]


def record_probes(
    hub: Hub, ledger: Ledger, tenants: list[str], per_tenant: int, chunk: int = 50
) -> None:
    """Record `per_tenant` new probes for each tenant, `chunk` aggregates per commit."""
    start = sum(n for (_, e), n in ledger.counts.items() if e == "Probe.Made")
    probes = [Probe(tenant, f"p{start + i}") for i in range(per_tenant) for tenant in tenants]
    for offset in range(0, len(probes), chunk):
        for recording in hub.save(*probes[offset : offset + chunk]):
            ledger.add(
                tenant_of(str(recording.domain_event.originator_id)),
                "Probe.Made",
                recording.notification.id,
            )


def register_tenants(runtime: Any, ledger: Ledger, slugs: list[str]) -> None:
    for slug in slugs:
        position = runtime.hub.register_tenant(slug, slug.title(), runtime.box).position
        ledger.add(slug, "Tenant.Registered", position)


class RunnerThread:
    """A projection runner in a thread; `stop()` ends it and re-raises what it raised."""

    def __init__(
        self, spec: ProjectionSpec, env: Mapping[str, str], database_url: str, **options: Any
    ) -> None:
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(spec, env, database_url), kwargs=options, daemon=True
        )
        self._thread.start()

    def _run(
        self, spec: ProjectionSpec, env: Mapping[str, str], database_url: str, **options: Any
    ) -> None:
        try:
            run_spec(spec, env, database_url, self.stop_event, **options)
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            self.error = error

    def stop(self) -> None:
        self.stop_event.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the runner did not stop"
        if self.error is not None:
            raise self.error


@contextmanager
def running(
    spec: ProjectionSpec, env: Mapping[str, str], database_url: str, **options: Any
) -> Iterator[RunnerThread]:
    runner = RunnerThread(spec, env, database_url, **options)
    try:
        yield runner
    finally:
        runner.stop()


def status_of(statuses: list[ProjectionStatus], name: str) -> ProjectionStatus:
    [status] = [s for s in statuses if s.name == name]
    return status
