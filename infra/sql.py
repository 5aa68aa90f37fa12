"""SQL engines for the read models: a SQLite file by default, PostgreSQL (psycopg 3) by URL."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
_IMMEDIATE = "hub_sqlite_immediate"


def _normalise(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """An engine for `url`: `sqlite:///file` (WAL, busy timeout) or `postgresql://...`."""
    url = _normalise(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite opens transactions late and never for DDL; take control of BEGIN so a
    # transaction is a real one (the SQLAlchemy documentation's recipe), and let writers
    # take the write lock up front, where the busy timeout applies, instead of failing
    # with SQLITE_BUSY when a read transaction tries to upgrade.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            _use_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _use_wal(cursor: Any) -> None:
    """The file in WAL mode: set once, by the first connection. Changing the mode can
    answer SQLITE_BUSY at once, without waiting, while another connection is writing (CI
    saw it); a file already in WAL needs no change, so it is asked for only when needed,
    and retried while the busy timeout lasts."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction, committed on success: on SQLite it holds the write lock throughout."""
    with engine.connect() as conn:
        conn.execution_options(**{_IMMEDIATE: True})
        with conn.begin():
            yield conn


def upsert(conn: Connection, table: Table) -> Any:
    """An INSERT for `table` with `on_conflict_do_update`, in the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    msg = f"no upsert for the {conn.dialect.name} dialect"
    raise NotImplementedError(msg)
