"""Checking one row of a OneRoster 1.2 file against its columns: values, formats, vocabularies.

References and duplicates need the other rows and are checked by the import
(`hub.roster.importer`); what is checked here needs the row alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime

from hub.roster.errors import RowError
from schemas.oneroster import ID_LIMIT, Column, FileSpec

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]00:00)$")
_YEAR = re.compile(r"^\d{4}$")
_INT = re.compile(r"^[+-]?\d+$")
_BOOLS = frozenset({"true", "false"})

Check = Callable[[str], str | None]
"""A value's problem as (code: message), or None."""


def _date(value: str) -> str | None:
    if _DATE.match(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return None
    return f"invalid-date:{value!r} is not a date (YYYY-MM-DD)"


def _datetime(value: str) -> str | None:
    if _DATETIME.match(value):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return None
    return f"invalid-datetime:{value!r} is not a UTC timestamp (YYYY-MM-DDThh:mm:ss.sssZ)"


def _id(value: str) -> str | None:
    if len(value) > ID_LIMIT:
        return f"invalid-id:ids are at most {ID_LIMIT} characters"
    return None


def _ids(value: str) -> str | None:
    for item in value.split(","):
        if not item.strip():
            return "invalid-id:an empty id in the list"
        problem = _id(item.strip())
        if problem:
            return problem
    return None


def _pattern(pattern: re.Pattern[str], code: str, what: str) -> Check:
    def check(value: str) -> str | None:
        return None if pattern.match(value) else f"{code}:{value!r} is not {what}"

    return check


def _bool(value: str) -> str | None:
    return None if value in _BOOLS else f"invalid-boolean:{value!r} is not true or false"


def _float(value: str) -> str | None:
    try:
        float(value)
    except ValueError:
        return f"invalid-number:{value!r} is not a number"
    return None


def _vocabulary(column: Column, items: bool) -> Check:
    allowed = column.vocabulary or frozenset()
    code = "unknown-role" if column.name in {"role", "roles"} else "unknown-value"
    shown = ", ".join(sorted(allowed))

    def one(value: str) -> str | None:
        if value in allowed or (column.extensible and value.startswith("ext:")):
            return None
        return f"{code}:{value!r} is not one of {shown}"

    def each(value: str) -> str | None:
        for item in value.split(","):
            problem = one(item.strip())
            if problem:
                return problem
        return None

    return each if items else one


def _check_of(column: Column) -> Check | None:
    if column.vocabulary is not None:
        return _vocabulary(column, items=column.kind == "enums")
    return {
        "guid": _id,
        "ref": _id,
        "refs": _ids,
        "date": _date,
        "datetime": _datetime,
        "bool": _bool,
        "int": _pattern(_INT, "invalid-integer", "an integer"),
        "float": _float,
        "year": _pattern(_YEAR, "invalid-year", "a year (YYYY)"),
    }.get(column.kind)


_ID_KINDS = frozenset({"guid", "ref", "refs"})


class RowChecker:
    """Checks rows of one file in one mode ("bulk" or "delta").

    The hot path: required cells first, then the cells whose format is checked; ids are
    measured only when some cell of the row is longer than an id may be (one C-level
    `max` per row instead of a call per id cell).
    """

    def __init__(self, spec: FileSpec, mode: str) -> None:
        self.spec = spec
        self.width = len(spec.columns)
        self._needed = [
            (index, column.name)
            for index, column in enumerate(spec.columns)
            if _needed(column, mode)
        ]
        checks = [(index, column, _check_of(column)) for index, column in enumerate(spec.columns)]
        self._checks = [
            (index, column.name, check)
            for index, column, check in checks
            if check is not None and column.kind not in _ID_KINDS
        ]
        self._id_checks = [
            (index, column.name, check)
            for index, column, check in checks
            if check is not None and column.kind in _ID_KINDS
        ]
        self._bulk = mode == "bulk"

    def errors(self, row_number: int, row: list[str]) -> list[RowError]:
        """What is wrong with `row` (its cells already unescaped), as errors of `row_number`."""
        file = self.spec.filename
        if len(row) < self.width:
            message = f"{len(row)} cells; the header has at least {self.width}"
            return [RowError(file, row_number, "", "wrong-column-count", message)]
        found = [
            RowError(file, row_number, name, "missing-value", "required")
            for index, name in self._needed
            if not row[index]
        ]
        checks = self._checks
        if max(map(len, row)) > ID_LIMIT:
            checks = checks + self._id_checks
        for index, name, check in checks:
            value = row[index]
            problem = check(value) if value else None
            if problem is not None:
                code, _, message = problem.partition(":")
                found.append(RowError(file, row_number, name, code, message))
        if self._bulk and row[1] == "tobedeleted":
            found.append(
                RowError(
                    file,
                    row_number,
                    "status",
                    "status-in-bulk",
                    "a bulk file deletes by leaving a record out, not with tobedeleted",
                )
            )
        return found


def _needed(column: Column, mode: str) -> bool:
    return column.required == "yes" or (column.required == "delta" and mode == "delta")
