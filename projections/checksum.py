"""A stable checksum of one version of a projection: every table, rows in key order.

Two versions with the same rows have the same checksum, whatever the database (SQLite or
PostgreSQL) and whatever order the rows were written in: a rebuild is checked by
comparing the checksum of the version it built with the one it replaced.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from projections import registry, schema

CHUNK = 5000


def _plain(value: Any) -> Any:
    """A value as the same JSON on every database (integral floats and decimals as ints)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float | Decimal):
        return int(value) if value == int(value) else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def version_checksum(engine: Engine, name: str, version: int) -> str:
    """SHA-256 (hex) over the tables of `version` of projection `name`, by table name
    without its version suffix, each row in primary key order."""
    view = registry.get(name).view_class(engine, version)
    digest = hashlib.sha256()
    suffix = f"_v{version}"
    with engine.connect() as conn:
        for table in sorted(view.tables, key=lambda t: t.name):
            digest.update(f"\x1e{table.name.removesuffix(suffix)}\n".encode())
            query = select(table).order_by(*table.primary_key.columns)
            for row in conn.execution_options(yield_per=CHUNK).execute(query):
                line = json.dumps([_plain(v) for v in row], sort_keys=True, default=str)
                digest.update(line.encode())
                digest.update(b"\n")
    return digest.hexdigest()


def live_checksum(engine: Engine, name: str) -> str | None:
    """The checksum of the live version of `name`; None before its first run."""
    with engine.connect() as conn:
        found = schema.read_versions(conn, name)
    return None if found is None else version_checksum(engine, name, found.live)
