"""Opening a OneRoster CSV bundle safely: a flat zip of known files, bounded in size.

Refused before anything is read: a file that is not a zip, an entry whose path
leaves the bundle's root (or is in a folder at all), an unknown file, an entry
declared larger than `max_entry_bytes` (the "2 GB file") or whose compression ratio
passes `max_ratio` (a zip bomb), and a total above `max_total_bytes`. Declared sizes
can lie, so the rows are read through a counter that stops at the declared size.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from hub.roster.errors import BundleRefusedError
from schemas.oneroster import FILES

MANIFEST = "manifest.csv"
KNOWN = frozenset({MANIFEST, *(spec.filename for spec in FILES.values())})
FORMULA_START = frozenset("=+-@\t\r'")


@dataclass(frozen=True)
class Limits:
    """How large a bundle may be (uncompressed), and how compressed its entries."""

    max_entry_bytes: int = 1 << 30
    max_total_bytes: int = 4 << 30
    max_ratio: int = 200


class _Bounded(io.RawIOBase):
    """A zip entry's bytes, refused past `limit` (a header that understates its size)."""

    def __init__(self, raw: IO[bytes], name: str, limit: int) -> None:
        self._raw = raw
        self._name = name
        self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        self._left -= len(data)
        if self._left < 0:
            raise BundleRefusedError.one(
                self._name, "entry-too-large", "the entry is larger than its header says"
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _check_entry(info: zipfile.ZipInfo, limits: Limits) -> None:
    name = info.filename
    if "/" in name or "\\" in name or name.startswith(".") or ":" in name:
        raise BundleRefusedError.one(
            name, "unsafe-path", "files must sit at the bundle's root (no folders, no '..')"
        )
    if name not in KNOWN:
        raise BundleRefusedError.one(name, "unknown-file", "not a file of a OneRoster 1.2 bundle")
    if info.file_size > limits.max_entry_bytes:
        raise BundleRefusedError.one(
            name,
            "file-too-large",
            f"{info.file_size} bytes uncompressed; at most {limits.max_entry_bytes} are accepted",
        )
    if info.file_size > 1 << 20 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise BundleRefusedError.one(
            name, "zip-bomb", f"compressed more than {limits.max_ratio} to 1: refused as a zip bomb"
        )


class RowSource(Protocol):
    """A bundle's files, read on demand: a zip (`Bundle`) or a folder (`FolderBundle`)."""

    def has(self, filename: str) -> bool: ...

    def rows(self, filename: str) -> Iterator[list[str]]: ...

    def check_readable(self, filename: str) -> None: ...

    def sha256(self) -> str: ...

    def close(self) -> None: ...


def _csv_rows(raw: io.RawIOBase, filename: str) -> Iterator[list[str]]:
    with io.TextIOWrapper(
        io.BufferedReader(raw, 1 << 16), encoding="utf-8-sig", newline=""
    ) as text:
        try:
            yield from csv.reader(text, strict=True)
        except UnicodeDecodeError as error:
            raise BundleRefusedError.one(filename, "not-utf8", f"not UTF-8: {error}") from None
        except csv.Error as error:
            raise BundleRefusedError.one(
                filename, "bad-csv", f"not RFC 4180 CSV: {error}"
            ) from None


class Bundle:
    """The entries of a zip bundle that passed the checks; rows are read on demand."""

    def __init__(self, path: Path, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._path = path
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as error:
            raise BundleRefusedError.one(
                path.name, "not-a-zip", f"not a zip file: {error}"
            ) from None
        try:
            infos = self._zip.infolist()
            total = 0
            for info in infos:
                _check_entry(info, self.limits)
                total += info.file_size
            if total > self.limits.max_total_bytes:
                raise BundleRefusedError.one(
                    path.name,
                    "bundle-too-large",
                    f"{total} bytes uncompressed; at most {self.limits.max_total_bytes}",
                )
            self._infos = {info.filename: info for info in infos}
            if len(self._infos) != len(infos):
                raise BundleRefusedError.one(path.name, "duplicate-entry", "a file appears twice")
        except BundleRefusedError:
            self._zip.close()
            raise

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def has(self, filename: str) -> bool:
        return filename in self._infos

    @property
    def filenames(self) -> frozenset[str]:
        return frozenset(self._infos)

    def size(self, filename: str) -> int:
        return self._infos[filename].file_size

    def rows(self, filename: str) -> Iterator[list[str]]:
        """The file's rows, the header first (UTF-8, a BOM allowed; RFC 4180)."""
        info = self._infos[filename]
        yield from _csv_rows(_Bounded(self._zip.open(info), filename, info.file_size), filename)

    def sha256(self) -> str:
        return _file_sha256(self._path)

    def check_readable(self, filename: str) -> None:
        """Read the file through as CSV (refused if it is not UTF-8 RFC 4180 CSV)."""
        for _ in self.rows(filename):
            pass


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class FolderBundle:
    """A bundle unzipped in a folder (what a SIS drops on a share): the same checks, on files."""

    def __init__(self, folder: Path, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._folder = folder
        found = sorted(p for p in folder.iterdir() if p.name in KNOWN)
        for path in found:
            if path.is_symlink() or not path.is_file():
                raise BundleRefusedError.one(path.name, "unsafe-path", "not a plain file")
            if path.stat().st_size > self.limits.max_entry_bytes:
                raise BundleRefusedError.one(
                    path.name, "file-too-large", f"at most {self.limits.max_entry_bytes} bytes"
                )
        self._files = {path.name: path for path in found}

    def has(self, filename: str) -> bool:
        return filename in self._files

    def rows(self, filename: str) -> Iterator[list[str]]:
        yield from _csv_rows(io.FileIO(self._files[filename]), filename)

    def check_readable(self, filename: str) -> None:
        for _ in self.rows(filename):
            pass

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for name, path in sorted(self._files.items()):
            digest.update(f"{name}:{_file_sha256(path)}\n".encode())
        return digest.hexdigest()

    def close(self) -> None:
        """Nothing is held open between reads."""


def open_bundle(path: Path, limits: Limits | None = None) -> Bundle | FolderBundle:
    """A zip bundle, or a folder holding the bundle's files."""
    return FolderBundle(path, limits) if path.is_dir() else Bundle(path, limits)


def unescape(value: str) -> str:
    """A cell as exported safely (`'` before a formula character) back to its value."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_START:
        return value[1:]
    return value


def escape(value: str) -> str:
    """A cell that a spreadsheet will not run as a formula (`unescape` reverses it)."""
    if value and value[0] in FORMULA_START and not _is_number(value):
        return "'" + value
    return value


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def write_rows(out: IO[str], rows: Iterator[list[str]] | list[list[str]]) -> None:
    """Rows as RFC 4180 CSV (CRLF line ends), every cell escaped."""
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([escape(cell) for cell in row])
