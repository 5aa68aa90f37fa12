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

from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from hub.domain.roster import Row, checksum, key_of
from hub.roster.bundle import Limits, RowSource, open_bundle, unescape
from hub.roster.errors import BundleRefusedError, RowError
from hub.roster.manifest import Manifest, check_headers, read_manifest
from hub.roster.rows import RowChecker
from schemas.oneroster import FILES, REFERENCES, FileSpec

BATCH_SIZE = 500
DUPLICATE = "duplicate-sourced-id"
ERRORS_KEPT = 10_000
SELF_REFERENCING = frozenset(target for (file, _), target in REFERENCES.items() if file == target)
REFERENCED = frozenset(REFERENCES.values())
Progress = Callable[[str, int], None]
"""Called with a file's name and its rows read so far (every 10,000 rows, and at its end)."""


class RosterState(Protocol):
    """What the roster read model knows of a tenant's records from one source system."""

    def checksums(
        self, tenant: str, system: str, entity: str
    ) -> tuple[Sequence[int], Sequence[int]]:
        """The keys (`key_of(sourcedId)`) and checksums of `entity`'s records, each less
        2**63 (signed 64-bit), sorted by key."""

    def sourced_ids(self, tenant: str, system: str, entity: str, keys: set[int]) -> list[str]:
        """The sourcedIds of the records of `entity` whose keys are in `keys`."""

    def ids(self, tenant: str, system: str, entity: str) -> set[str]:
        """The sourcedIds of every record of `entity`."""


class ChangeSink(Protocol):
    """Where a commit's changes go (`hub.roster.log.ImportLog`); a dry run has none."""

    def records(
        self, entity: str, columns: list[str], upserts: list[Row], deletes: list[str]
    ) -> None: ...

    def rejected(self, file: str, errors: list[RowError]) -> None: ...

    def finish(self, report: ImportReport) -> None:
        """Record the end of the import (if anything was recorded) and note it in `report`."""

    def abort(self) -> None:
        """The import failed: record nothing more."""


_HALF = 1 << 63


class Checksums:
    """Key -> checksum of the records a file is diffed against, in two arrays of signed
    64-bit integers (value - 2**63, as the read model stores them), sorted by key: 16
    bytes a record (a dict of Python ints takes about 100)."""

    def __init__(self, keys_and_sums: tuple[Sequence[int], Sequence[int]]) -> None:
        keys, sums = keys_and_sums
        self._keys = keys if isinstance(keys, array) else array("q", keys)
        self._sums = sums if isinstance(sums, array) else array("q", sums)

    def _at(self, key: int) -> int:
        signed = key - _HALF
        at = bisect_left(self._keys, signed)
        return at if at < len(self._keys) and self._keys[at] == signed else -1

    def get(self, key: int) -> int | None:
        at = self._at(key)
        return None if at < 0 else self._sums[at] + _HALF

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int) and self._at(key) >= 0

    def __iter__(self) -> Iterator[int]:
        return (key + _HALF for key in self._keys)

    def __len__(self) -> int:
        return len(self._keys)


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


@dataclass
class _Pending:
    """The changes of one entity waiting for a full batch."""

    entity: str
    columns: list[str]
    sink: ChangeSink | None
    size: int
    upserts: list[Row] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def upsert(self, row: Row) -> None:
        self.upserts.append(row)
        self._maybe_flush()

    def delete(self, sourced_id: str) -> None:
        self.deletes.append(sourced_id)
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
                self.sink.records(self.entity, self.columns, self.upserts, self.deletes)
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
        self.known: dict[str, set[str]] = {}
        """sourcedIds that references may name, per file referred to."""

    def run(self, bundle: RowSource, manifest: Manifest, report: ImportReport) -> None:
        headers = check_headers(bundle, manifest)
        for name, spec in FILES.items():
            mode = manifest.modes[name]
            if mode == "absent":
                if name in REFERENCED:
                    self.known[name] = self.state.ids(self.tenant, self.system, name)
                continue
            stats = report.stats.setdefault(name, EntityStats())
            self._import_file(bundle, spec, mode, headers[name], stats, report.errors)

    def _rows(self, bundle: RowSource, spec: FileSpec) -> Iterator[tuple[int, list[str]]]:
        rows = bundle.rows(spec.filename)
        next(rows)  # the header, checked already
        count = 0
        for count, row in enumerate(rows, start=2):
            if count % 10_000 == 0:
                self.progress(spec.name, count - 1)
            if "'" in "".join(row):  # rare: one C-level scan instead of one test per cell
                row = [unescape(cell) for cell in row]  # noqa: PLW2901
            yield count, row
        self.progress(spec.name, max(count - 1, 0))

    def _prescan(self, bundle: RowSource, spec: FileSpec, checker: RowChecker) -> set[str]:
        """The ids of the rows that pass their own checks (for references within the file)."""
        found: set[str] = set()
        with suppress(BundleRefusedError):  # reported by the file's own pass
            for number, row in self._rows(bundle, spec):
                if row[1] != "tobedeleted" and not checker.errors(number, row):
                    found.add(row[0])
        return found

    def _import_file(  # noqa: PLR0917 - one file's pass
        self,
        bundle: RowSource,
        spec: FileSpec,
        mode: str,
        header: tuple[str, ...],
        stats: EntityStats,
        kept_errors: list[RowError],
    ) -> None:
        name = spec.name
        existing = Checksums(self.state.checksums(self.tenant, self.system, name))
        checker = RowChecker(spec, mode)
        if name in SELF_REFERENCING:
            known = self.state.ids(self.tenant, self.system, name) if mode == "delta" else set()
            self.known[name] = known | self._prescan(bundle, spec, checker)
        refs = [
            (index, self.known.get(column.references, set()), column.kind == "refs", column.name)
            for index, column in enumerate(spec.columns)
            if column.references is not None
        ]
        run = _FilePass(self, spec, header, existing, checker, refs, stats, kept_errors)
        run.track_ids = name in REFERENCED
        try:
            for number, row in self._rows(bundle, spec):
                run.last_row = number
                run.take(number, row)
        except BundleRefusedError as error:
            # The rest of the file cannot be read (not UTF-8, not CSV, longer than its zip
            # entry says): what was read stands, the rest is one error row, and a bulk
            # file deletes nothing, since what it leaves out may be in the unread part.
            run.unreadable(error)
            mode = "unreadable"
        if mode == "bulk" and run.hits < len(existing):
            missing = {key for key in existing if key not in run.seen}
            for sourced_id in sorted(
                self.state.sourced_ids(self.tenant, self.system, name, missing)
            ):
                run.delete(sourced_id)
        run.pending.flush()
        if name in REFERENCED:
            if mode == "bulk":  # a rejected row keeps its record
                self.known[name] = run.accepted | run.kept
            else:
                before = self.state.ids(self.tenant, self.system, name)
                self.known[name] = (before - run.deleted) | run.accepted


def _record(width: int, row: list[str], sum_: int) -> Row:
    values = row if len(row) == width else row[:width] + [""] * (width - len(row))
    return [f"{sum_:016x}", *values]


Reference = tuple[int, set[str], bool, str]
"""A referring column: its index, the ids it may name, whether it is a list, its name."""


@dataclass
class _FilePass:
    """One pass over a file's rows: each row rejected, or a create, update, delete or no-op.

    `seen` (64-bit keys) finds duplicates and, in bulk files, what to delete;
    sourcedIds are kept (`accepted`, `kept`, `deleted`) only for files others refer to.
    """

    importer: Importer
    spec: FileSpec
    header: tuple[str, ...]
    existing: Checksums
    checker: RowChecker
    refs: list[Reference]
    stats: EntityStats
    kept_errors: list[RowError]
    track_ids: bool = False
    seen: set[int] = field(default_factory=set)
    hits: int = 0  # rows that named a known record (each once): all of them, no deletes
    last_row: int = 1
    accepted: set[str] = field(default_factory=set)
    kept: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    pending: _Pending = field(init=False)

    def __post_init__(self) -> None:
        importer = self.importer
        self.pending = _Pending(
            self.spec.name, list(self.header), importer.sink, importer.batch_size
        )
        self.recording = importer.sink is not None

    def _errors(self, number: int, row: list[str], key: int | None) -> list[RowError]:
        errors = self.checker.errors(number, row)
        if key is None:
            return errors
        if key in self.seen:
            return errors or [_duplicate(self.spec, number, row[0])]
        self.seen.add(key)
        if errors or not self.refs:
            return errors
        return _unresolved(self.spec, number, row, self.refs)

    def take(self, number: int, row: list[str]) -> None:
        key = key_of(row[0]) if row and row[0] else None
        errors = self._errors(number, row, key)
        if errors or key is None:
            self._reject(row, key, errors)
            return
        if row[1] == "tobedeleted":
            if key in self.existing:
                self.hits += 1
                self.delete(row[0])
            else:
                self.stats.unchanged += 1
            return
        if self.track_ids:
            self.accepted.add(row[0])
        sum_ = checksum(row[:1] + row[3:])
        before = self.existing.get(key)
        if before is not None:
            self.hits += 1
        if before == sum_:
            self.stats.unchanged += 1
            return
        if before is None:
            self.stats.creates += 1
        else:
            self.stats.updates += 1
        if self.recording:
            self.pending.upsert(_record(len(self.header), row, sum_))

    def _reject(self, row: list[str], key: int | None, errors: list[RowError]) -> None:
        self.stats.rejected += 1
        self.pending.reject(errors)
        if len(self.kept_errors) < ERRORS_KEPT:
            self.kept_errors.extend(errors)
        duplicate = bool(errors) and errors[0].code == DUPLICATE
        if key is not None and not duplicate and key in self.existing:
            self.hits += 1
            if self.track_ids:
                self.kept.add(row[0])

    def unreadable(self, error: BundleRefusedError) -> None:
        problem = error.problems[0]
        message = f"{problem.message}; the rest of the file was not read"
        self._reject(
            [], None, [RowError(problem.file, self.last_row + 1, "", problem.code, message)]
        )

    def delete(self, sourced_id: str) -> None:
        self.stats.deletes += 1
        if self.track_ids:
            self.deleted.add(sourced_id)
        if self.recording:
            self.pending.delete(sourced_id)


def _duplicate(spec: FileSpec, number: int, sourced_id: str) -> RowError:
    return RowError(
        spec.filename,
        number,
        "sourcedId",
        DUPLICATE,
        f"{sourced_id!r} is already on an earlier row",
    )


def _unresolved(
    spec: FileSpec, number: int, row: list[str], refs: Iterable[Reference]
) -> list[RowError]:
    for index, known, many, column in refs:
        value = row[index]
        if not value or (not many and value in known):
            continue
        for item in value.split(",") if many else (value,):
            target = item.strip()
            if target not in known:
                target_file = REFERENCES[spec.name, column]
                message = f"{target!r} is not a known {target_file} sourcedId"
                return [RowError(spec.filename, number, column, "unresolved-reference", message)]
    return []


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
    """Import the bundle at `path` (a zip, or a folder of its files) for `tenant`; a dry run
    when `sink_for` is None.

    Raises `BundleRefusedError` (nothing applied) for a bundle that cannot be imported.
    The source system is `system`, else the manifest's `source.systemCode`, else
    "oneroster".
    """
    bundle = open_bundle(path, limits)
    try:
        return import_source(
            bundle,
            tenant=tenant,
            state=state,
            sink_for=sink_for,
            system=system,
            progress=progress,
            batch_size=batch_size,
        )
    finally:
        bundle.close()


def import_source(
    bundle: RowSource,
    *,
    tenant: str,
    state: RosterState,
    sink_for: Callable[[ImportReport], ChangeSink] | None,
    system: str | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """`import_bundle` on an open bundle (a zip, a folder, or rows a connector fetched)."""
    manifest = read_manifest(bundle)
    report = ImportReport(
        tenant=tenant,
        system=system or manifest.system_code or "oneroster",
        modes=manifest.modes,
        bundle_sha256=bundle.sha256(),
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
    try:
        importer.run(bundle, manifest, report)
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    if sink is not None:
        sink.finish(report)
    return report
