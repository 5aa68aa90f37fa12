"""The base of SQL read models: versioned tables whose changes commit with their position."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from eventsourcing.persistence import IntegrityError, ProgrammingError, Tracking, TrackingRecorder
from eventsourcing.projection import Projection
from sqlalchemy import Connection, Engine, MetaData, Table, insert, update
from sqlalchemy import exc as sa_exc

from infra.sql import writing
from projections import schema
from projections.errors import VersionRetiredError


@dataclass
class _Batch:
    conn: Connection
    pending: dict[str, int] = field(default_factory=dict)


class SqlView(TrackingRecorder):
    """A read model of one projection at one version, and that version's tracking recorder.

    Subclasses set `projection_name`, add their tables in `define_tables` (named with
    `table_name()` so that versions live side by side) and make every change inside
    `with self.changing(tracking) as conn:`, which commits the change and the new
    position together, or neither. `batch()` groups many such changes in one transaction.

    A write first checks, in its transaction, that its version is still live or being
    built (and on PostgreSQL holds that row shared, so a switch waits for it): a writer
    left behind by a rebuild stops with `VersionRetiredError` instead of writing into
    tables about to be dropped.
    """

    projection_name: ClassVar[str]

    def __init__(self, engine: Engine, version: int = 1) -> None:
        self.engine = engine
        self.version = version
        self.metadata = MetaData()
        self.define_tables(self.metadata)
        self._local = threading.local()

    def define_tables(self, metadata: MetaData) -> None:
        """Add this version's tables to `metadata` (none by default)."""

    def table_name(self, suffix: str = "") -> str:
        stem = f"{self.projection_name}_{suffix}" if suffix else self.projection_name
        return f"{stem}_v{self.version}"

    @property
    def tables(self) -> list[Table]:
        return list(self.metadata.sorted_tables)

    def create_tables(self) -> None:
        schema.create_shared_tables(self.engine)
        schema.create_tables(self.engine, self.tables)

    def drop_tables(self) -> None:
        """Drop this version's tables and forget its positions."""
        schema.drop_tables(self.engine, reversed(self.tables))
        with writing(self.engine) as conn:
            schema.forget_version(conn, self.projection_name, self.version)

    @contextmanager
    def batch(self, conn: Connection | None = None) -> Iterator[Connection]:
        """Changes made inside commit together with the last position of each upstream.

        With `conn`, the batch joins the caller's transaction and skips the version
        check (the caller holds the versions row, as the rebuild's switch does).
        """
        if getattr(self._local, "batch", None) is not None:
            msg = "batches do not nest"
            raise ProgrammingError(msg)
        if conn is not None:
            with self._batch_on(conn):
                yield conn
            return
        with writing(self.engine) as new_conn:
            self._check_version(new_conn)
            with self._batch_on(new_conn):
                yield new_conn

    @contextmanager
    def _batch_on(self, conn: Connection) -> Iterator[None]:
        batch = _Batch(conn)
        self._local.batch = batch
        try:
            yield
            for application_name, notification_id in batch.pending.items():
                self._write_tracking(conn, Tracking(application_name, notification_id))
        finally:
            self._local.batch = None

    @contextmanager
    def changing(self, tracking: Tracking) -> Iterator[Connection]:
        """A connection whose changes commit with `tracking` (in the open batch, if any)."""
        batch: _Batch | None = getattr(self._local, "batch", None)
        if batch is not None:
            current = batch.pending.get(tracking.application_name)
            if current is None:
                current = schema.position(
                    batch.conn, self.projection_name, self.version, tracking.application_name
                )
            if current is not None and tracking.notification_id <= current:
                raise IntegrityError(self._not_after(tracking, current))
            batch.pending[tracking.application_name] = tracking.notification_id
            yield batch.conn
            return
        with writing(self.engine) as conn:
            self._check_version(conn)
            self._write_tracking(conn, tracking)
            yield conn

    def insert_tracking(self, tracking: Tracking) -> None:
        with self.changing(tracking):
            pass

    def max_tracking_id(self, application_name: str) -> int | None:
        with self.engine.connect() as conn:
            return schema.position(conn, self.projection_name, self.version, application_name)

    def _check_version(self, conn: Connection) -> None:
        found = schema.read_versions(conn, self.projection_name, lock="share")
        if found is not None and self.version not in (found.live, found.building):
            msg = f"{self.projection_name} version {self.version} is retired (live: {found.live})"
            raise VersionRetiredError(msg)

    def _write_tracking(self, conn: Connection, tracking: Tracking) -> None:
        # One row per upstream, moved only forward: a second writer that applied the
        # same event loses here, and its whole transaction with it.
        t = schema.tracking
        key = (
            t.c.projection == self.projection_name,
            t.c.version == self.version,
            t.c.application_name == tracking.application_name,
        )
        moved = conn.execute(
            update(t)
            .where(*key, t.c.notification_id < tracking.notification_id)
            .values(notification_id=tracking.notification_id)
        )
        if moved.rowcount == 1:
            return
        current = schema.position(
            conn, self.projection_name, self.version, tracking.application_name
        )
        if current is not None:
            raise IntegrityError(self._not_after(tracking, current))
        try:
            conn.execute(
                insert(t).values(
                    projection=self.projection_name,
                    version=self.version,
                    application_name=tracking.application_name,
                    notification_id=tracking.notification_id,
                )
            )
        except sa_exc.IntegrityError as error:
            raise IntegrityError(str(error.orig)) from error

    def _not_after(self, tracking: Tracking, current: int) -> str:
        return (
            f"{self.projection_name} v{self.version}: {tracking.application_name} "
            f"position {tracking.notification_id} is not after {current}"
        )


V = TypeVar("V", bound=SqlView)


class HandlerTableProjection(Projection[V]):
    """A projection whose events are handled by a table of functions keyed by the event's
    qualified name (`handlers`); every notification moves the position, whether handled or
    not, in the same transaction as the handler's rows."""

    handlers: ClassVar[Mapping[str, Callable[[Any, Connection, Any], None]]] = {}

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        handler = self.handlers.get(type(domain_event).__qualname__)
        with self.view.changing(tracking) as conn:
            if handler is not None:
                handler(self.view, conn, domain_event)
