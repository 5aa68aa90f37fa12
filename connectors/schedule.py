"""The daily course sync: every tenant connected to Spark, once a day, in one process at a time.

The active process holds the lease `connector.spark-course-sync`. When a run is due it
syncs every connected tenant and records when it ran in the NATS KV bucket
`<prefix>_schedules`, so that a restart, or a standby taking over, neither repeats
the day's run nor skips it: the next run is the first slot (`HUB_SPARK_SYNC_AT`,
02:00 UTC by default) after the last recorded one. The schedule's first start is
recorded as if it had run, so it waits for the next slot; a hub that was down at its
slot runs as soon as it is back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import structlog
from nats.js.errors import BadRequestError, BucketNotFoundError, KeyNotFoundError
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.course_sync import CourseSyncError, SyncReport, connected_tenants, sync_tenant
from connectors.runner import (
    DEFAULT_BACKOFF,
    Backoff,
    logged,
    run_under_lease,
)
from connectors.spark_api import SparkApiError, SparkClients, box_from_env
from hub.application import Hub
from hub.domain.base import EventContext
from infra.errors import LeaseLostError
from infra.lease import DEFAULT_TTL, Lease
from infra.nats_client import NatsConnection

NAME = "spark-course-sync"
log = structlog.get_logger(__name__)


class SyncScheduleSettings(BaseSettings):
    """`HUB_SPARK_SYNC_AT` (UTC, `HH:MM`) and `HUB_SPARK_SYNC_ENABLED`."""

    model_config = SettingsConfigDict(env_prefix="HUB_SPARK_SYNC_", extra="ignore")

    at: time = time(2, 0)
    enabled: bool = True


def next_slot(after: datetime, at: time) -> datetime:
    """The first time of day `at` (UTC) strictly after `after`."""
    after = after.astimezone(UTC)
    slot = datetime.combine(after.date(), at, tzinfo=UTC)
    return slot if slot > after else slot + timedelta(days=1)


def due_at(last_run: datetime, at: time) -> datetime:
    """When the next run is due: the first slot after the last run."""
    return next_slot(last_run, at)


class LastRun:
    """When the daily sync last ran (or the schedule first started), in the KV bucket
    `<prefix>_schedules` (no expiry)."""

    def __init__(self, env: Mapping[str, str], key: str = NAME) -> None:
        self.connection = NatsConnection.shared(
            env["NATS_URL"], timeout=float(env.get("NATS_TIMEOUT", "2"))
        )
        self.bucket = f"{env.get('NATS_STREAM_PREFIX', 'hub')}_schedules"
        self.key = key
        self._kv: Any = None

    def _open(self) -> Any:
        if self._kv is None:
            js = self.connection.client.jetstream()

            async def open_bucket() -> Any:
                try:
                    return await js.key_value(self.bucket)
                except BucketNotFoundError:
                    try:
                        return await js.create_key_value(bucket=self.bucket, history=5)
                    except BadRequestError:  # made meanwhile by another process
                        return await js.key_value(self.bucket)

            self._kv = self.connection.run(open_bucket, timeout=10)
        return self._kv

    def get(self) -> datetime | None:
        kv = self._open()
        try:
            entry = self.connection.run(lambda: kv.get(self.key))
        except KeyNotFoundError:
            return None
        return datetime.fromisoformat(bytes(entry.value).decode()) if entry.value else None

    def put(self, moment: datetime) -> None:
        kv = self._open()
        self.connection.run(lambda: kv.put(self.key, moment.isoformat().encode()))


@dataclass
class DailySync:
    """Decides whether the day's run is due and does it."""

    hub: Hub
    clients: SparkClients
    last_run: LastRun
    at: time = time(2, 0)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    reports: list[SyncReport] = field(default_factory=list)

    def seconds_until_due(self) -> float:
        now = self.clock()
        last = self.last_run.get()
        if last is None:
            # The schedule's first start: nothing before now is owed, the next slot is.
            self.last_run.put(now)
            last = now
        return (due_at(last, self.at) - now).total_seconds()

    def run_if_due(self, *, go_on: Callable[[], bool] = lambda: True) -> bool:
        """Sync every connected tenant if a run is due; True if it ran."""
        if self.seconds_until_due() > 0:
            return False
        started = self.clock()
        run_id = f"{NAME}:{started.date().isoformat()}"
        failed: list[str] = []
        tenants = connected_tenants(self.hub)
        for tenant in tenants:
            if not go_on():
                return False  # the lease was lost: the new holder runs it
            context = EventContext(
                correlation_id=run_id,
                causation_id=run_id,
                source="spark:course-sync",
                verified_by="api-key",
            )
            try:
                self.reports.append(sync_tenant(self.hub, self.clients, tenant, context=context))
            except (SparkApiError, CourseSyncError) as error:
                failed.append(tenant)
                log.warning("course_sync.failed", tenant_id=tenant, error=str(error))
        self.last_run.put(started)
        log.info(
            "course_sync.daily",
            tenants=len(tenants),
            failed=failed,
            next_run=due_at(started, self.at).isoformat(),
        )
        return True


@contextmanager
def keeping(lease: Lease, stop: threading.Event) -> Iterator[Callable[[], bool]]:
    """Refresh `lease` in a thread during long work; yields "is it still held?"."""
    lost = threading.Event()
    done = threading.Event()

    def keep() -> None:
        while not done.wait(lease.refresh_interval / 2) and not stop.is_set():
            try:
                lease.keep()
            except LeaseLostError:
                lost.set()
                return

    thread = threading.Thread(target=keep, name=f"{NAME}-lease", daemon=True)
    thread.start()
    try:
        yield lambda: not lost.is_set() and not stop.is_set()
    finally:
        done.set()
        thread.join(timeout=10)
    if lost.is_set():
        msg = f"lease {lease.key} was lost during the sync"
        raise LeaseLostError(msg)


def run_daily_sync(
    env: Mapping[str, str],
    stop: threading.Event,
    *,
    at: time | None = None,
    clients: SparkClients | None = None,
    clock: Callable[[], datetime] | None = None,
    lease_ttl: float = DEFAULT_TTL,
    owner: str | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> None:
    """Run the daily sync whenever it is due, while this process holds its lease."""
    settings = SyncScheduleSettings()

    def work(lease: Lease) -> bool:
        with closing(Hub(env=dict(env))) as hub:
            daily = DailySync(
                hub, clients or SparkClients(box_from_env(env)), LastRun(env), at=at or settings.at
            )
            if clock is not None:
                daily.clock = clock
            while not stop.is_set():
                with keeping(lease, stop) as held:
                    daily.run_if_due(go_on=held)
                    wait = daily.seconds_until_due()
                stop.wait(min(max(wait, 0.05), lease.refresh_interval))
                lease.keep()
        return True

    if not settings.enabled:
        log.info("course_sync.daily_disabled")
        return
    run_under_lease(NAME, env, stop, work, lease_ttl=lease_ttl, owner=owner, backoff=backoff)


run_daily_sync_logged = logged(run_daily_sync, NAME)
