"""The roster's log: the `roster` application, and an import's events recorded batch by batch.

Roster imports have an application (and so a log) of their own, `roster`: a bundle's
thousands of batches never pass through the readers of the hub's log.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from uuid import uuid4

from eventsourcing.application import Application

from hub.domain.roster import RosterImport, Row, encode_rows
from hub.roster.errors import RowError
from hub.roster.importer import ImportReport


class Rosters(Application[str]):
    """Records roster imports."""

    name = "roster"


class ImportLog:
    """Records one import: `Started` at its first change or error, one event per batch after,
    `Finished` at the end. Nothing at all when nothing changed.

    Batches are saved by a writer thread, in order, while the import reads on: waiting
    for each JetStream acknowledgement would otherwise stall the reading. At most
    `QUEUED` batches wait (memory stays bounded); a failed save stops the import at its
    next batch, and `finish` raises it.
    """

    QUEUED = 4

    def __init__(
        self, app: Rosters, report: ImportReport, *, job_id: str | None = None, origin: str = "csv"
    ) -> None:
        self.app = app
        self.report = report
        self.job_id = job_id or uuid4().hex
        self.origin = origin
        self._import: RosterImport | None = None
        self._position: int | None = None
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue(self.QUEUED)
        self._error: BaseException | None = None
        self._writer: threading.Thread | None = None
        self._context = contextvars.copy_context()  # events carry the caller's event_context

    def _write(self) -> None:
        while (work := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._context.run(work)
                except BaseException as error:  # noqa: BLE001 - raised in the caller's thread
                    self._error = error

    def _submit(self, work: Callable[[], None]) -> None:
        if self._error is not None:
            raise self._error
        if self._writer is None:
            self._writer = threading.Thread(target=self._write, name="roster-writer", daemon=True)
            self._writer.start()
        self._queue.put(work)

    def _save(self) -> None:
        assert self._import is not None
        recordings = self.app.save(self._import)
        if recordings:
            self._position = max(int(r.notification.id) for r in recordings)

    def _aggregate(self) -> RosterImport:
        if self._import is None:
            self._import = RosterImport(
                tenant=self.report.tenant,
                job_id=self.job_id,
                source_system=self.report.system,
                modes=self.report.modes,
                bundle_sha256=self.report.bundle_sha256,
                origin=self.origin,
            )
            self._save()
        return self._import

    def records(
        self, entity: str, columns: list[str], upserts: list[Row], deletes: list[str]
    ) -> None:
        def work() -> None:
            self._aggregate().apply_records(
                system=self.report.system,
                entity=entity,
                columns=columns,
                rows=encode_rows(upserts),
                deletes=deletes,
            )
            self._save()

        self._submit(work)

    def rejected(self, file: str, errors: list[RowError]) -> None:
        found = [e.as_dict() for e in errors]

        def work() -> None:
            self._aggregate().reject_rows(file=file, errors=found)
            self._save()

        self._submit(work)

    def abort(self) -> None:
        """Stop the writer after what it holds (the import failed before its end)."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()

    def finish(self, report: ImportReport) -> None:
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
        if self._error is not None:
            raise self._error
        if self._import is None:
            return
        self._context.run(self._import.finish, stats=report.stats_dict())
        self._save()
        report.job_id = self.job_id
        report.import_id = self._import.id
        report.position = self._position
