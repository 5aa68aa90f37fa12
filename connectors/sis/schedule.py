"""Per-connection schedules: each SIS connection with a cron schedule syncs when it is due.

One process at a time holds the lease `connector.sis-sync`. Every `TICK` seconds it
looks up the tenants' connections and runs those whose next cron time after their last
run (or their registration) has passed. What a run did is on its `SisConnection`
(`SyncSucceeded`, `SyncFailed`); a run that found nothing new records nothing, so the
loop also remembers, in memory, when it last ran each one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from contextlib import closing
from datetime import UTC, datetime

import structlog

from connectors.runner import ConnectorFailedError, run_under_lease
from connectors.sis.connections import all_connections, connector_factory
from connectors.sis.cron import Cron, CronError
from connectors.sis.engine import run_sync
from hub.application import Hub
from hub.domain.roster import SisConnection, sis_connection_id
from hub.roster.log import Rosters
from hub.roster.ports import RosterReadModel
from infra.lease import Lease
from infra.secrets import SecretBox

NAME = "sis-sync"
TICK = 30.0
log = structlog.get_logger(__name__)


def last_run(connection: SisConnection, ran: Mapping[tuple[str, str], datetime]) -> datetime:
    recorded = connection.last_run_at
    since = datetime.fromisoformat(recorded) if recorded else connection.created_on
    remembered = ran.get((connection.tenant, connection.name))
    return max(since, remembered) if remembered else since


def due_connections(
    hub: Hub, now: datetime, ran: Mapping[tuple[str, str], datetime]
) -> list[SisConnection]:
    """The connections whose schedule has a time after their last run and not after `now`."""
    due = []
    for tenant, name in all_connections(hub):
        connection: SisConnection = hub.repository.get(sis_connection_id(tenant, name))
        if not connection.schedule:
            continue
        try:
            upcoming = Cron.parse(connection.schedule).next_after(last_run(connection, ran))
        except CronError:
            log.warning("sis.bad_schedule", tenant=tenant, connection=name)
            continue
        if upcoming <= now:
            due.append(connection)
    return due


def run_schedules(
    env: Mapping[str, str],
    stop: threading.Event,
    *,
    read_model: Callable[[], RosterReadModel],
    box: SecretBox,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    ran: dict[tuple[str, str], datetime] = {}
    build = connector_factory(box)

    def work(lease: Lease) -> bool:
        model = read_model()
        with closing(Hub(env=dict(env))) as hub, closing(Rosters(env=dict(env))) as rosters:
            while not stop.is_set():
                for connection in due_connections(hub, clock(), ran):
                    ran[connection.tenant, connection.name] = clock()
                    run_sync(
                        hub,
                        rosters,
                        model,
                        tenant=connection.tenant,
                        name=connection.name,
                        connector_for=build,
                    )
                    lease.keep()
                stop.wait(min(TICK, lease.refresh_interval))
                lease.keep()
        return True

    run_under_lease(NAME, env, stop, work)


def run_schedules_logged(env: dict[str, str], stop: threading.Event) -> None:
    """`run_schedules` for `connectors.registry`, on the settings' database and key."""
    from hub.bootstrap import secret_box  # noqa: PLC0415
    from infra.settings import Settings  # noqa: PLC0415
    from infra.sql import make_engine  # noqa: PLC0415
    from projections.roster import SqlRosterReadModel  # noqa: PLC0415 - composition

    data_dir = env.get("HUB_DATA_DIR")
    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    try:
        run_schedules(
            env,
            stop,
            read_model=lambda: SqlRosterReadModel(make_engine(settings.resolved_database_url)),
            box=secret_box(settings),
        )
    except ConnectorFailedError:
        pass  # logged where it happened
    except Exception:
        log.exception("connector.crashed", connector=NAME)
