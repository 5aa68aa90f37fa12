"""The tables all projections share: which version is live, and tracking positions.

`projection_versions` has one row per projection: the live version readers query and,
while a rebuild is under way, the version being built. `projection_tracking` has one
row per (projection, version, upstream application): the notification id of the last
event applied to that version, written in the same transaction as the change it made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError

from infra.sql import upsert, writing

T = TypeVar("T")
metadata = MetaData()

versions = Table(
    "projection_versions",
    metadata,
    Column("projection", String(100), primary_key=True),
    Column("live_version", Integer, nullable=False),
    Column("building_version", Integer, nullable=True),
)

tracking = Table(
    "projection_tracking",
    metadata,
    Column("projection", String(100), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("application_name", String(100), primary_key=True),
    Column("notification_id", BigInteger, nullable=False),
)


@dataclass(frozen=True)
class Versions:
    """The live version of a projection and the one being built, if any."""

    live: int
    building: int | None


def create_tables(engine: Engine, tables: Iterable[Table]) -> None:
    """Create the tables that are missing; another process creating one first is fine."""
    for table in tables:
        try:
            with writing(engine) as conn:
                table.create(conn, checkfirst=True)
        except DBAPIError:
            with engine.connect() as conn:
                if not inspect(conn).has_table(table.name):
                    raise


def drop_tables(engine: Engine, tables: Iterable[Table]) -> None:
    for table in tables:
        with writing(engine) as conn:
            table.drop(conn, checkfirst=True)


def create_shared_tables(engine: Engine) -> None:
    create_tables(engine, metadata.sorted_tables)


def read_versions(
    conn: Connection, name: str, lock: Literal["share", "update"] | None = None
) -> Versions | None:
    """The versions of `name`; `lock` holds its row until the transaction ends (PostgreSQL)."""
    query = select(versions.c.live_version, versions.c.building_version).where(
        versions.c.projection == name
    )
    if lock is not None:
        query = query.with_for_update(read=lock == "share")
    row = conn.execute(query).first()
    return None if row is None else Versions(live=row[0], building=row[1])


def register(conn: Connection, name: str, version: int = 1) -> None:
    """Make `version` live for `name` unless the projection is already registered."""
    statement = upsert(conn, versions).values(projection=name, live_version=version)
    conn.execute(statement.on_conflict_do_nothing(index_elements=[versions.c.projection]))


def set_building(conn: Connection, name: str, version: int | None) -> None:
    conn.execute(
        update(versions).where(versions.c.projection == name).values(building_version=version)
    )


def switch_live(conn: Connection, name: str, version: int) -> None:
    """Make `version` live and end the build (the caller holds the row's update lock)."""
    conn.execute(
        update(versions)
        .where(versions.c.projection == name)
        .values(live_version=version, building_version=None)
    )


def position(conn: Connection, name: str, version: int, application_name: str) -> int | None:
    return conn.execute(
        select(tracking.c.notification_id).where(
            tracking.c.projection == name,
            tracking.c.version == version,
            tracking.c.application_name == application_name,
        )
    ).scalar()


def positions(conn: Connection, name: str, version: int) -> dict[str, int]:
    """Every upstream's position in `version` of projection `name`, by application name."""
    rows = conn.execute(
        select(tracking.c.application_name, tracking.c.notification_id).where(
            tracking.c.projection == name, tracking.c.version == version
        )
    )
    return {row[0]: row[1] for row in rows}


def forget_version(conn: Connection, name: str, version: int) -> None:
    conn.execute(
        delete(tracking).where(tracking.c.projection == name, tracking.c.version == version)
    )


def read_live(engine: Engine, name: str, read: Callable[[Connection, int], T], missing: T) -> T:
    """`read(conn, live_version)` in one transaction; `missing` if `name` never ran here.

    A rebuild drops the old version's tables right after switching: a reader that read
    the old pointer just before may find its table gone, and reads again.
    """
    for attempt in range(3):
        with engine.connect() as conn, conn.begin():
            try:
                found = read_versions(conn, name)
            except DBAPIError:
                if not inspect(engine).has_table(versions.name):
                    return missing  # no projection ever ran on this database
                if attempt == 2:
                    raise
                continue  # made meanwhile by a first run
            if found is None:
                return missing
            try:
                return read(conn, found.live)
            except DBAPIError:
                if attempt == 2 or not _switched_from(engine, name, found.live):
                    raise
    raise AssertionError("unreachable")  # pragma: no cover


def _switched_from(engine: Engine, name: str, version: int) -> bool:
    with engine.connect() as conn:
        found = read_versions(conn, name)
    return found is not None and found.live != version
