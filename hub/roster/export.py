"""Exporting a tenant's roster as a OneRoster 1.2 CSV bundle: bulk files, bytes that repeat.

The same roster always gives the same bytes: files in a fixed order, records in
sourcedId order, a fixed timestamp on every zip entry, CRLF line ends. So export ->
import -> export gives identical bytes. Cells that a spreadsheet would run as a
formula (`=`, `+`, `-`, `@`, tab, CR, and `'` itself) are written behind a `'`, which
the import takes off again.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from hub.roster.bundle import MANIFEST, write_rows
from schemas.oneroster import FILES, MANIFEST_HEADER, MANIFEST_VERSION, SPEC_VERSION

Pages = Callable[[str], Iterator[list[tuple[str, dict[str, str]]]]]
"""entity -> its records' (sourcedId, fields), a page at a time in sourcedId order."""
_EPOCH = (1980, 1, 1, 0, 0, 0)
_BULK_BLANK = frozenset({"status", "dateLastModified"})


def _entry(bundle: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    bundle.writestr(info, data)


def _metadata_columns(pages: Iterator[list[tuple[str, dict[str, str]]]]) -> list[str]:
    return sorted({c for page in pages for _, f in page for c in f if c.startswith("metadata.")})


def _file_text(header: list[str], pages: Iterator[list[tuple[str, dict[str, str]]]]) -> str:
    out = io.StringIO()
    write_rows(out, [header])
    for page in pages:
        write_rows(
            out,
            [[("" if c in _BULK_BLANK else f.get(c, "")) for c in header] for _, f in page],
        )
    return out.getvalue()


def export_bundle(pages: Pages, path: Path, *, system: str) -> dict[str, int]:
    """Write the roster `pages` reads as a bulk bundle at `path`; records per file."""
    modes: dict[str, str] = {}
    counts: dict[str, int] = {}
    with zipfile.ZipFile(path, "w") as bundle:
        for name, spec in FILES.items():
            count = sum(len(page) for page in pages(name))
            modes[name] = "bulk" if count else "absent"
            if not count:
                continue
            counts[name] = count
            header = [*spec.header, *_metadata_columns(pages(name))]
            _entry(bundle, spec.filename, _file_text(header, pages(name)).encode())
        manifest = io.StringIO()
        rows = [
            list(MANIFEST_HEADER),
            ["manifest.version", MANIFEST_VERSION],
            ["oneroster.version", SPEC_VERSION],
            *([f"file.{name}", mode] for name, mode in modes.items()),
            ["source.systemCode", system],
        ]
        write_rows(manifest, rows)
        _entry(bundle, MANIFEST, manifest.getvalue().encode())
    return counts
