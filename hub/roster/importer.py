"""Importing a OneRoster 1.2 CSV bundle: refuse it whole, or apply its good rows in order.

The bundle is streamed file by file in dependency order (orgs, academic sessions, ...,
users, courses, classes, enrollments, ...); no file is ever held in memory. What is
kept is small and per file: 64-bit keys and checksums of the records the read model
knows (`RosterState`), and the keys of the records later files refer to.

Each row is checked alone (`RowChecker`), then for a duplicate `sourcedId` and for
references that resolve (to the bundle's rows, or to records already known when
the target file is delta or absent), then compared by checksum: create, update or
unchanged. Bulk files delete the known records they leave out; delta files delete
with `status=tobedeleted`. A dry run stops there; a commit records the changes in
batches (`ImportLog`). Nothing at all is recorded for an unchanged bundle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from hub.domain.roster import Record, checksum, hub_id, key_of
from hub.roster.bundle import Bundle, Limits
from hub.roster.errors import RowError
from hub.roster.manifest import Manifest, check_headers, read_manifest
from hub.roster.rows import RowChecker
from schemas.oneroster import FILES, REFERENCES, FileSpec

BATCH_SIZE = 500
ERRORS_KEPT = 10_000
SELF_REFERENCING = frozenset(target for (file, _), target in REFERENCES.items() if file == target)
REFERENCED = frozenset(REFERENCES.values())
Progress = Callable[[str, int], None]
"""Called with a file's name and its rows read so far (every 10,000 rows, and at its end)."""


class RosterState(Protocol):
    """What the roster read model knows of a tenant's records from one source system."""

    def checksums(self, tenant: str, system: str, entity: str) -> dict[int, int]:
        """Key (`key_of(sourcedId)`) -> checksum of every record of `entity`."""

    def sourced_ids(self, tenant: str, system: str, entity: str, keys: set[int]) -> list[str]:
        """The sourcedIds of the records of `entity` whose keys are in `keys`."""


class ChangeSink(Protocol):
    """Where a commit's changes go (`hub.roster.log.ImportLog`); a dry run has none."""

    def records(self, entity: str, upserts: list[Record], deletes: list[Record]) -> None: ...

    def rejected(self, file: str, errors: list[RowError]) -> None: ...

    def finish(self, report: ImportReport) -> None:
        """Record the end of the import (if anything was recorded) and note it in `report`."""


@dataclass
class EntityStats:
    creates: int = 0
    updates: int = 0
    deletes: int = 0
    unchanged: int = 0
    rejected: int = 0

    @property
    def changes(self) -> int:
        return self.creates + self.updates + self.deletes


@dataclass
class ImportReport:
    """What an import (or its dry run) found, per entity; the first `ERRORS_KEPT` errors."""

    tenant: str
    system: str
    modes: dict[str, str]
    bundle_sha256: str
    dry_run: bool
    stats: dict[str, EntityStats] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    job_id: str | None = None
    import_id: str | None = None  # the `RosterImport` aggregate, once anything was recorded
    position: int | None = None

    @property
    def changed(self) -> bool:
        return any(s.changes or s.rejected for s in self.stats.values())

    def stats_dict(self) -> dict[str, dict[str, int]]:
        return {name: vars(s).copy() for name, s in self.stats.items()}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class _Pending:
    """The changes of one entity waiting for a full batch."""

    entity: str
    sink: ChangeSink | None
    size: int
    upserts: list[Record] = field(default_factory=list)
    deletes: list[Record] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def upsert(self, record: Record) -> None:
        self.upserts.append(record)
        self._maybe_flush()

    def delete(self, record: Record) -> None:
        self.deletes.append(record)
        self._maybe_flush()

    def reject(self, errors: list[RowError]) -> None:
        self.errors.extend(errors)
        if len(self.errors) >= self.size:
            self.flush()

    def _maybe_flush(self) -> None:
        if len(self.upserts) + len(self.deletes) >= self.size:
            self.flush()

    def flush(self) -> None:
        if self.sink is not None:
            if self.upserts or self.deletes:
                self.sink.records(self.entity, self.upserts, self.deletes)
            if self.errors:
                self.sink.rejected(f"{self.entity}.csv", self.errors)
        self.upserts, self.deletes, self.errors = [], [], []


class Importer:
    """One import of one bundle for one tenant and source system."""

    def __init__(
        self,
        *,
        tenant: str,
        system: str,
        state: RosterState,
        sink: ChangeSink | None,
        progress: Progress | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.tenant = tenant
        self.system = system
        self.state = state
        self.sink = sink
        self.progress = progress or (lambda _file, _rows: None)
        self.batch_size = batch_size
        self.known: dict[str, set[int]] = {}

    def run(self, bundle: Bundle, manifest: Manifest, report: ImportReport) -> None:
        headers = check_headers(bundle, manifest)
        for name, spec in FILES.items():
            mode = manifest.modes[name]
            if mode == "absent":
                if name in REFERENCED:
                    self.known[name] = set(self.state.checksums(self.tenant, self.system, name))
                continue
            stats = report.stats.setdefault(name, EntityStats())
            self._import_file(bundle, spec, mode, headers[name], stats, report.errors)

    def _rows(self, bundle: Bundle, spec: FileSpec) -> Iterator[tuple[int, list[str]]]:
        rows = bundle.rows(spec.filename)
        next(rows)  # the header, checked already
        count = 0
        for count, row in enumerate(rows, start=2):
            if count % 10_000 == 0:
                self.progress(spec.name, count - 1)
            yield count, [c[1:] if c[:1] == "'" and c[1:2] in _FORMULA else c for c in row]
        self.progress(spec.name, max(count - 1, 0))

    def _prescan(self, bundle: Bundle, spec: FileSpec, checker: RowChecker) -> set[int]:
        """Keys of the rows that pass their own checks (for references within the file)."""
        return {
            key_of(row[0])
            for number, row in self._rows(bundle, spec)
            if row[1] != "tobedeleted" and not checker.errors(number, row)
        }

    def _import_file(  # noqa: PLR0917 - one file's pass
        self,
        bundle: Bundle,
        spec: FileSpec,
        mode: str,
        header: tuple[str, ...],
        stats: EntityStats,
        kept_errors: list[RowError],
    ) -> None:
        existing = self.state.checksums(self.tenant, self.system, spec.name)
        checker = RowChecker(spec, mode)
        if spec.name in SELF_REFERENCING:
            known = set(existing) if mode == "delta" else set()
            self.known[spec.name] = known | self._prescan(bundle, spec, checker)
        refs = [
            (index, self.known.get(column.references, set()), column.kind == "refs", column.name)
            for index, column in enumerate(spec.columns)
            if column.references is not None
        ]
        run = _FilePass(self, spec, header, existing, checker, refs, stats, kept_errors)
        for number, row in self._rows(bundle, spec):
            run.take(number, row)
        if mode == "bulk":
            missing = set(existing) - run.seen.keys()
            for sourced_id in sorted(
                self.state.sourced_ids(self.tenant, self.system, spec.name, missing)
            ):
                run.delete(sourced_id, key_of(sourced_id))
        run.pending.flush()
        if spec.name in REFERENCED:
            survivors = set(existing) - run.deleted
            if mode == "bulk":  # a rejected row keeps its record
                survivors &= run.seen.keys()
            self.known[spec.name] = survivors | run.accepted

    def record(self, entity: str, header: tuple[str, ...], row: list[str], sum_: int) -> Record:
        fields = {column: value for column, value in zip(header, row, strict=False) if value}
        return {
            "sourcedId": row[0],
            "hubId": hub_id(self.tenant, self.system, entity, row[0]),
            "checksum": f"{sum_:016x}",
            "fields": fields,
        }

    def deletion(self, entity: str, sourced_id: str) -> Record:
        return {
            "sourcedId": sourced_id,
            "hubId": hub_id(self.tenant, self.system, entity, sourced_id),
        }


Reference = tuple[int, set[int], bool, str]
"""A referring column: its index, the keys it may name, whether it is a list, its name."""


@dataclass
class _FilePass:
    """One pass over a file's rows: each row rejected, or a create, update, delete or no-op."""

    importer: Importer
    spec: FileSpec
    header: tuple[str, ...]
    existing: dict[int, int]
    checker: RowChecker
    refs: list[Reference]
    stats: EntityStats
    kept_errors: list[RowError]
    seen: dict[int, int] = field(default_factory=dict)
    accepted: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)
    pending: _Pending = field(init=False)

    def __post_init__(self) -> None:
        importer = self.importer
        self.pending = _Pending(self.spec.name, importer.sink, importer.batch_size)

    def _errors(self, number: int, row: list[str], key: int | None) -> list[RowError]:
        errors = self.checker.errors(number, row)
        if key is None:
            return errors
        first = self.seen.setdefault(key, number)
        if not errors and first != number:
            return [_duplicate(self.spec, number, row[0], first)]
        return errors or _unresolved(self.spec, number, row, self.refs)

    def take(self, number: int, row: list[str]) -> None:
        key = key_of(row[0]) if row and row[0] else None
        errors = self._errors(number, row, key)
        if errors or key is None:
            self.stats.rejected += 1
            self.pending.reject(errors)
            if len(self.kept_errors) < ERRORS_KEPT:
                self.kept_errors.extend(errors)
            return
        if row[1] == "tobedeleted":
            if key in self.existing:
                self.delete(row[0], key)
            else:
                self.stats.unchanged += 1
            return
        self.accepted.add(key)
        sum_ = checksum(row[:1] + row[3:])
        before = self.existing.get(key)
        if before == sum_:
            self.stats.unchanged += 1
            return
        if before is None:
            self.stats.creates += 1
        else:
            self.stats.updates += 1
        self.pending.upsert(self.importer.record(self.spec.name, self.header, row, sum_))

    def delete(self, sourced_id: str, key: int) -> None:
        self.stats.deletes += 1
        self.deleted.add(key)
        self.pending.delete(self.importer.deletion(self.spec.name, sourced_id))


_FORMULA = frozenset("=+-@\t\r'")


def _duplicate(spec: FileSpec, number: int, sourced_id: str, first: int) -> RowError:
    return RowError(
        spec.filename,
        number,
        "sourcedId",
        "duplicate-sourced-id",
        f"{sourced_id!r} is already on row {first}",
    )


def _unresolved(
    spec: FileSpec, number: int, row: list[str], refs: Iterable[Reference]
) -> list[RowError]:
    found = []
    for index, known, many, column in refs:
        value = row[index]
        if not value:
            continue
        for item in value.split(",") if many else (value,):
            target = item.strip()
            if key_of(target) not in known:
                found.append(
                    RowError(
                        spec.filename,
                        number,
                        column,
                        "unresolved-reference",
                        f"{target!r} is not a known {REFERENCES[spec.name, column]} sourcedId",
                    )
                )
                break
    return found


def import_bundle(
    path: Path,
    *,
    tenant: str,
    state: RosterState,
    sink_for: Callable[[ImportReport], ChangeSink] | None,
    system: str | None = None,
    limits: Limits | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import the bundle at `path` for `tenant`; a dry run when `sink_for` is None.

    Raises `BundleRefusedError` (nothing applied) for a bundle that cannot be imported.
    The source system is `system`, else the manifest's `source.systemCode`, else
    "oneroster".
    """
    with Bundle(path, limits) as bundle:
        manifest = read_manifest(bundle)
        report = ImportReport(
            tenant=tenant,
            system=system or manifest.system_code or "oneroster",
            modes=manifest.modes,
            bundle_sha256=sha256_of(path),
            dry_run=sink_for is None,
        )
        sink = sink_for(report) if sink_for is not None else None
        importer = Importer(
            tenant=tenant,
            system=report.system,
            state=state,
            sink=sink,
            progress=progress,
            batch_size=batch_size,
        )
        importer.run(bundle, manifest, report)
        if sink is not None:
            sink.finish(report)
        return report
