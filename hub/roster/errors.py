"""Errors of roster imports and exports.

RosterError
├── BundleRefusedError      the bundle as a whole cannot be imported; nothing is applied
│                           (`problems`: each a `RowError` with row 0 for the bundle)
├── RosterBehindError       the roster read model did not catch up with the log in time
└── ImportConflictError     another import of the tenant's source system committed first
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowError:
    """What is wrong with one row (or, with row 0, with a file or the bundle)."""

    file: str
    row: int
    column: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str | int]:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "message": self.message,
        }


class RosterError(Exception):
    """The base of roster errors."""


class BundleRefusedError(RosterError):
    """Raised when a bundle cannot be imported at all (unsafe, malformed, wrong headers)."""

    def __init__(self, problems: list[RowError]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.file}: {p.message}" for p in problems))

    @classmethod
    def one(cls, file: str, code: str, message: str) -> BundleRefusedError:
        return cls([RowError(file, 0, "", code, message)])


class RosterBehindError(RosterError):
    """Raised when the roster read model is behind the log (is `hub project` running?)."""


class ImportConflictError(RosterError):
    """Raised when an import of the same tenant and source system committed meanwhile."""
