"""Searching the audit read model: filters, newest first, a page at a time behind a cursor.

Pages are cut by keyset (recorded_at, log, position), never by offset: a page costs the
same at any depth, and rows recorded meanwhile neither repeat nor skip a row. The
cursor is that key of the page's last row, opaque to callers (base64url JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, or_, select, tuple_

from hub.audit import FAMILY_SEPARATORS
from projections.audit import NAME, AuditView, stamp
from projections.schema import read_live
from schemas.audit import AuditQuery, decode_cursor, encode_cursor

__all__ = ["AuditPage", "AuditQuery", "AuditRow", "search_audit"]


@dataclass(frozen=True)
class AuditRow:
    """One verdict: where it is in its log, who, what and why."""

    log: str
    position: int
    recorded_at: datetime
    tenant: str
    source: str
    verdict: str
    reason: str | None
    event_type: str | None
    actor: str | None
    correlation_id: str | None
    summary: str


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    next_cursor: str | None


@lru_cache(maxsize=32)
def _view(engine: Engine, version: int) -> AuditView:
    return AuditView(engine, version)


def _source_family(column: Any, source: str) -> ColumnElement[bool]:
    return or_(
        column == source,
        *(column.startswith(source + sep, autoescape=True) for sep in FAMILY_SEPARATORS),
    )


def _conditions(view: AuditView, query: AuditQuery) -> list[ColumnElement[bool]]:
    c = view.rows.c
    found: list[ColumnElement[bool]] = []
    for column, value in (
        (c.tenant, query.tenant),
        (c.verdict, query.verdict),
        (c.reason, query.reason),
        (c.event_type, query.event_type),
    ):
        if value is not None:
            found.append(column == value)
    if query.source is not None:
        found.append(_source_family(c.source, query.source))
    if query.since is not None:
        found.append(c.recorded_at >= stamp(query.since))
    if query.until is not None:
        found.append(c.recorded_at <= stamp(query.until))
    if query.cursor is not None:
        found.append(
            tuple_(c.recorded_at, c.log, c.position) < tuple_(*decode_cursor(query.cursor))
        )
    return found


def _page(conn: Connection, version: int, query: AuditQuery) -> AuditPage:
    view = _view(conn.engine, version)
    c = view.rows.c
    statement = (
        select(view.rows)
        .where(*_conditions(view, query))
        .order_by(c.recorded_at.desc(), c.log.desc(), c.position.desc())
        .limit(query.limit + 1)
    )
    found = conn.execute(statement).mappings().all()
    rows = [
        AuditRow(**{**row, "recorded_at": datetime.fromisoformat(row["recorded_at"])})
        for row in found[: query.limit]
    ]
    next_cursor = None
    if len(found) > query.limit:
        last = found[query.limit - 1]
        next_cursor = encode_cursor((last["recorded_at"], last["log"], last["position"]))
    return AuditPage(rows, next_cursor)


def search_audit(engine: Engine, query: AuditQuery) -> AuditPage:
    """The page of verdicts matching `query`, newest first, and the cursor of the next."""
    return read_live(
        engine, NAME, lambda conn, version: _page(conn, version, query), AuditPage([], None)
    )
