"""What the operations pages read and do, joined at install time: the read models
(`projections.integration_health`, projection statuses), redrive and rebuild.

`hub` does not import `projections` at load time (the composition root joins them), so
the projections' readers are imported in `ops_backend`, as the other admin routes do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from sqlalchemy import Engine

from connectors.deliveries import redrive, redrive_dead
from connectors.registry import DELIVERY_LOGS, delivery_log
from hub.bootstrap import Runtime, eventsourcing_env
from hub.domain.base import EventContext, event_context
from hub.ops.fresh import Fresh
from hub.ops.rebuilds import RebuildJobs
from infra.sql import make_engine

REDRIVEN_BY = "operations page"
DEAD_LETTERS_SHOWN = 100


@dataclass(frozen=True)
class OpsBackend:
    """The pages' readers (each one or two queries, at most a second old) and actions."""

    engine: Engine
    env: dict[str, str]
    hub: Any
    statuses: Fresh[Sequence[Any]]
    integrations: Fresh[Sequence[Any]]
    dead_letters: Fresh[Sequence[Any]]
    sync_runs: Fresh[Sequence[Any]]
    delivery_counts: Callable[[], Sequence[tuple[str, str, int]]]
    projection_names: Callable[[], list[str]]
    rebuilds: RebuildJobs

    @property
    def connectors(self) -> list[str]:
        """The connectors whose deliveries can be redriven."""
        return sorted(DELIVERY_LOGS)

    def redrive(self, connector: str, delivery_id: str | None = None) -> list[str]:
        """Re-arm one dead letter of `connector`, or all of them; the ids re-armed. Recorded
        as an admin action (`http:admin`, verified by the admin token)."""
        run = uuid4().hex
        context = EventContext(run, run, source="http:admin", verified_by="admin-token")
        with closing(delivery_log(connector, self.env)) as app, event_context(context):
            if delivery_id is None:
                done = redrive_dead(app, connector, by=REDRIVEN_BY)
            else:
                done = redrive(app, [delivery_id], by=REDRIVEN_BY)
        self.forget()
        return done

    def forget(self) -> None:
        """Read the read models afresh next time (after a change made from the pages)."""
        for reader in (self.statuses, self.integrations, self.dead_letters, self.sync_runs):
            reader.forget()


def ops_backend(runtime: Runtime) -> OpsBackend:
    from projections import integration_health, registry  # noqa: PLC0415 - composition
    from projections.rebuild import rebuild  # noqa: PLC0415
    from projections.status import projection_statuses  # noqa: PLC0415

    url = runtime.settings.resolved_database_url
    engine = make_engine(url)
    env = eventsourcing_env(runtime.settings, runtime.nats_url)
    return OpsBackend(
        engine=engine,
        env=env,
        hub=runtime.hub,
        statuses=Fresh(lambda: projection_statuses(runtime.hub, engine)),
        integrations=Fresh(lambda: integration_health.integrations(engine)),
        dead_letters=Fresh(lambda: integration_health.dead_letters(engine, DEAD_LETTERS_SHOWN)),
        sync_runs=Fresh(lambda: integration_health.sync_runs(engine)),
        delivery_counts=lambda: integration_health.delivery_counts(engine),
        projection_names=registry.names,
        rebuilds=RebuildJobs(rebuild, env, url),
    )
