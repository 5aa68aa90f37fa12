"""A bundle's `manifest.csv` (versions, and each file bulk, delta or absent) and its headers."""

from __future__ import annotations

from dataclasses import dataclass

from hub.roster.bundle import MANIFEST, RowSource, unescape
from hub.roster.errors import BundleRefusedError, RowError
from schemas.oneroster import (
    FILES,
    MANIFEST_HEADER,
    MANIFEST_VERSION,
    MODES,
    NEW_IN_1P2,
    SPEC_VERSION,
)


@dataclass(frozen=True)
class Manifest:
    """What the manifest says: each data file's mode, and the source system if named."""

    modes: dict[str, str]
    system_code: str
    system_name: str

    @property
    def present(self) -> list[str]:
        """The files to import, in dependency order."""
        return [name for name in FILES if self.modes[name] != "absent"]


def read_manifest(bundle: RowSource) -> Manifest:
    """The bundle's manifest, checked against the files the bundle holds."""
    if not bundle.has(MANIFEST):
        raise BundleRefusedError.one(MANIFEST, "missing-manifest", "the bundle has no manifest.csv")
    rows = list(bundle.rows(MANIFEST))
    if not rows or tuple(rows[0]) != MANIFEST_HEADER:
        raise BundleRefusedError.one(
            MANIFEST, "bad-header", f"the header must be {','.join(MANIFEST_HEADER)}"
        )
    properties: dict[str, str] = {}
    for row in rows[1:]:
        if len(row) != 2:
            raise BundleRefusedError.one(MANIFEST, "bad-row", f"{row!r}: two cells per row")
        properties[row[0]] = unescape(row[1])
    problems = _version_problems(properties)
    modes: dict[str, str] = {}
    for name, spec in FILES.items():
        mode = properties.get(f"file.{name}")
        if mode is None and name in NEW_IN_1P2:
            mode = "absent"
        problem = _mode_problem(name, mode, bundle.has(spec.filename))
        if problem:
            problems.append(RowError(MANIFEST, 0, f"file.{name}", *problem))
        modes[name] = mode or "absent"
    if problems:
        raise BundleRefusedError(problems)
    return Manifest(
        modes=modes,
        system_code=properties.get("source.systemCode", ""),
        system_name=properties.get("source.systemName", ""),
    )


def _version_problems(properties: dict[str, str]) -> list[RowError]:
    expected = {"manifest.version": MANIFEST_VERSION, "oneroster.version": SPEC_VERSION}
    return [
        RowError(MANIFEST, 0, key, "bad-version", f"must be {value}, not {properties.get(key)!r}")
        for key, value in expected.items()
        if properties.get(key) != value
    ]


def _mode_problem(name: str, mode: str | None, present: bool) -> tuple[str, str] | None:
    if mode is None:
        return "missing-property", f"file.{name} must say absent, bulk or delta"
    if mode not in MODES:
        return "bad-mode", f"{mode!r} is not absent, bulk or delta"
    if mode == "absent" and present:
        return "unexpected-file", f"{name}.csv is in the bundle but the manifest says absent"
    if mode != "absent" and not present:
        return "missing-file", f"the manifest says {mode} but {name}.csv is not in the bundle"
    return None


def check_headers(bundle: RowSource, manifest: Manifest) -> dict[str, tuple[str, ...]]:
    """Each present file's header (its columns, then any `metadata.*` columns), or a refusal."""
    problems: list[RowError] = []
    headers: dict[str, tuple[str, ...]] = {}
    for name in manifest.present:
        spec = FILES[name]
        header = next(iter(bundle.rows(spec.filename)), None)
        if header is None:
            problems.append(RowError(spec.filename, 1, "", "empty-file", "the file is empty"))
            continue
        problem = _header_problem(tuple(header), spec.header)
        if problem is not None:
            problems.append(RowError(spec.filename, 1, *problem))
            continue
        headers[name] = tuple(header)
    if problems:
        raise BundleRefusedError(problems)
    return headers


def _header_problem(
    found: tuple[str, ...], expected: tuple[str, ...]
) -> tuple[str, str, str] | None:
    for index, name in enumerate(expected):
        if index >= len(found):
            return name, "missing-header", f"column {name!r} is missing"
        if found[index] != name:
            shown = f"{found[index]!r} where {name!r} belongs"
            code = "misspelled-header" if name not in found else "misordered-header"
            if name not in found and found[index] in expected:
                code = "missing-header"
            return name, code, f"header column {index + 1}: {shown} (headers are case-sensitive)"
    extra = [name for name in found[len(expected) :] if not name.startswith("metadata.")]
    if extra:
        return extra[0], "unexpected-header", f"{extra[0]!r}: only metadata.* columns may follow"
    if len(set(found)) != len(found):
        return "", "duplicate-header", "a column appears twice"
    return None
