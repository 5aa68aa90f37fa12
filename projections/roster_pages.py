"""A page of a tenant's roster records filtered and sorted in SQL, for the REST publisher.

`hub.roster.rest_query.SqlPlan` says what to compare: `sourcedId`, `status` (`active`
when the record has none), `dateLastModified` (when it was recorded, when it has none)
and an enrolment's `role`. Comparisons and order are by code point (PostgreSQL: the
"C" collation), as the publisher's Python fallback compares. Records of several
systems with the same sourcedId come by system, whichever the order (as Python's stable
sort keeps them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, ColumnElement, Connection, Row, and_, cast, false, func, or_, select

from hub.roster.rest_query import SqlPlan
from projections.roster_view import RosterView

Page = tuple[int, int]


def _json_text(conn: Connection, fields: Any, name: str) -> ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return func.json_extract_path_text(cast(fields, JSON), name)
    return func.json_extract(fields, f"$.{name}")


def _columns(conn: Connection, r: Any) -> dict[str, ColumnElement[Any]]:
    status = func.coalesce(func.nullif(_json_text(conn, r.fields, "status"), ""), "active")
    modified = func.nullif(_json_text(conn, r.fields, "dateLastModified"), "")
    columns = {
        "sourcedId": r.sourced_id,
        "status": status,
        "dateLastModified": func.coalesce(modified, r.recorded_at),
        "role": func.coalesce(r.role, ""),
    }
    if conn.dialect.name == "postgresql":
        return {name: column.collate("C") for name, column in columns.items()}
    return columns


_COMPARE = {
    "=": lambda c, v: c == v,
    "!=": lambda c, v: c != v,
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
}


def collection_page(
    conn: Connection, view: RosterView, tenant: str, entity: str, plan: SqlPlan, *, page: Page
) -> tuple[int, Sequence[Row[Any, Any, Any, Any, Any]]]:
    """(how many records match, the rows (system, sourced_id, hub_id, fields, recorded_at)
    of the page: `page` is (offset, limit))."""
    r = view.records.c
    columns = _columns(conn, r)
    where: list[ColumnElement[bool]] = [r.tenant == tenant, r.entity == entity]
    if plan.where:
        groups = [
            and_(*(_COMPARE[op](columns[field], value) for field, op, value in group))
            for group in plan.where
        ]
        where.append(or_(false(), *groups))
    total = conn.execute(select(func.count()).select_from(view.records).where(*where))
    order = [columns[plan.sort or "sourcedId"], columns["sourcedId"]]
    offset, limit = page
    rows = conn.execute(
        select(r.system, r.sourced_id, r.hub_id, r.fields, r.recorded_at)
        .where(*where)
        .order_by(*(c.desc() if plan.descending else c for c in order), r.system)
        .offset(offset)
        .limit(limit)
    )
    return int(total.scalar_one()), rows.all()
