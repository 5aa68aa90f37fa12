"""The OneRoster 1.2 REST query parameters: `filter`, `sort`/`orderBy`, `fields`, `limit`/`offset`.

    filter   familyName='Smith' AND givenName~'Jo'   predicates joined by AND / OR (AND binds
             tighter); operators = != > >= < <= ~ (contains); values in single quotes; a
             dotted field reads into an object (`org.sourcedId`); a list matches if any
             item does, a reference by its sourcedId
    sort     a field; orderBy asc (default) or desc
    fields   the properties to return, comma-separated
    limit    at most this many (default 100, at most 1000); offset: skip this many

Pure functions over resources as dicts; `QueryError` says which parameter is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_PREDICATE = re.compile(r"^\s*([A-Za-z][\w.]*)\s*(!=|>=|<=|=|>|<|~)\s*'((?:[^']|'')*)'\s*$")
_JOINER = re.compile(r"\s+(AND|OR)\s+(?=(?:[^']*'[^']*')*[^']*$)")

Resource = dict[str, Any]


class QueryError(ValueError):
    """Raised for a query parameter the publisher cannot apply; `code_minor` is the
    specification's codeMinor (invalid_filter_field, invalid_selection_field, ...)."""

    def __init__(self, code_minor: str, message: str) -> None:
        super().__init__(message)
        self.code_minor = code_minor


_OPS: dict[str, Callable[[str, str], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "~": lambda a, b: b.lower() in a.lower(),
}


@dataclass(frozen=True)
class Predicate:
    path: tuple[str, ...]
    op: str
    value: str

    def matches(self, resource: Resource) -> bool:
        compare = _OPS[self.op]
        values = _values(resource, self.path)
        if self.op == "!=":
            return all(compare(value, self.value) for value in values)
        return any(compare(value, self.value) for value in values)


def _values(resource: Any, path: Sequence[str]) -> list[str]:
    """Every string the path reaches (lists fan out; a reference counts as its sourcedId)."""
    if isinstance(resource, list):
        return [v for item in resource for v in _values(item, path)]
    if path:
        return _values(resource.get(path[0]), path[1:]) if isinstance(resource, dict) else []
    return _leaf(resource)


def _leaf(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(value.get("sourcedId", ""))]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [] if value is None else [str(value)]


Filter = list[list[Predicate]]
"""OR of ANDs."""


def parse_filter(text: str | None, known: frozenset[str]) -> Filter:
    """`text` as OR-ed groups of AND-ed predicates on the `known` top-level fields."""
    if not text:
        return []
    groups: Filter = [[]]
    parts = _JOINER.split(text)
    for index, part in enumerate(parts):
        if index % 2:
            if part == "OR":
                groups.append([])
            continue
        match = _PREDICATE.match(part)
        if match is None:
            msg = f"cannot read the filter {part.strip()!r}: write field op 'value'"
            raise QueryError("invalid_filter_field", msg)
        path = tuple(match.group(1).split("."))
        if path[0] not in known:
            raise QueryError("invalid_filter_field", f"no field {path[0]!r} to filter on")
        groups[-1].append(Predicate(path, match.group(2), match.group(3).replace("''", "'")))
    return groups


def matches(resource: Resource, where: Filter) -> bool:
    return not where or any(all(p.matches(resource) for p in group) for group in where)


def sort(
    resources: list[Resource], field: str | None, order: str | None, known: frozenset[str]
) -> list[Resource]:
    if not check_sort(field, order, known) or field is None:
        return resources
    return sorted(
        resources,
        key=lambda r: (",".join(_values(r, (field,))), r.get("sourcedId", "")),
        reverse=order == "desc",
    )


def check_sort(field: str | None, order: str | None, known: frozenset[str]) -> bool:
    """Whether there is a sort to apply; raises `QueryError` for one the publisher cannot."""
    if order not in {None, "asc", "desc"}:
        raise QueryError("invaliddata", f"orderBy must be asc or desc, not {order!r}")
    if not field:
        return False
    if field not in known:
        raise QueryError("invalid_sort_field", f"no field {field!r} to sort on")
    return True


def select_fields(text: str | None, known: frozenset[str]) -> list[str] | None:
    if not text:
        return None
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise QueryError("invalid_selection_field", f"no field {unknown[0]!r} to select")
    return chosen


def project(resource: Resource, chosen: list[str] | None) -> Resource:
    if chosen is None:
        return resource
    return {name: resource[name] for name in chosen if name in resource}


def page_bounds(limit: int | None, offset: int | None) -> tuple[int, int]:
    limit = DEFAULT_LIMIT if limit is None else limit
    offset = 0 if offset is None else offset
    if limit < 1 or offset < 0:
        raise QueryError("invaliddata", "limit must be at least 1 and offset at least 0")
    return min(limit, MAX_LIMIT), offset


# -- what SQL can do for the read model --------------------------------------------------

SQL_FIELDS = frozenset({"sourcedId", "status", "dateLastModified"})
"""Fields every record has as the read model can compare them (status defaults to active,
dateLastModified to when the record was recorded)."""
SQL_ENTITY_FIELDS = {"enrollments": frozenset({"role"})}
SQL_OPS = frozenset({"=", "!=", ">", ">=", "<", "<="})


@dataclass(frozen=True)
class SqlPlan:
    """A filter and sort the read model runs in SQL: OR-ed groups of AND-ed (field, op,
    value), and a sort field (None: by sourcedId) ascending or descending. Comparisons are
    by code point, like Python's."""

    where: tuple[tuple[tuple[str, str, str], ...], ...]
    sort: str | None
    descending: bool


def sql_plan(
    entity: str, where: Filter, sort_field: str | None, order: str | None
) -> SqlPlan | None:
    """The SQL plan of an already checked filter and sort on `entity`, or None when one of
    them needs the resources themselves (a nested field, `~`, a field outside the columns
    and ids the read model compares)."""
    fields = SQL_FIELDS | SQL_ENTITY_FIELDS.get(entity, frozenset())
    plain = all(
        len(p.path) == 1 and p.path[0] in fields and p.op in SQL_OPS for g in where for p in g
    )
    if not plain or (sort_field and sort_field not in fields):
        return None
    groups = tuple(tuple((p.path[0], p.op, p.value) for p in group) for group in where)
    return SqlPlan(groups, sort_field or None, order == "desc")
