"""The roster read model: the records of every tenant's roster imports, and its readers.

It follows the `roster` log (`RosterImport.Started`, `RecordsApplied`, `RowsRejected`,
`Finished`); events are recognised by their class's qualified name. A batch event
replaces its records whole, so applying it is idempotent in effect and the rows do not
depend on anything but the last batch that named each record.

Readers (every one takes the tenant):
    class_members(engine, tenant, class_id) -> list[ClassMember]   (NRPS: class_id is
        the class's hub id, its Quest id)
    records(engine, tenant, entity, *, system=None) -> Iterator[RosterRecord]
    guardians_of / relationships(engine, tenant) -> list[Relationship]
    imports(engine, tenant) / import_errors(engine, tenant, import_id)
    SqlRosterState(engine): what the import diffs against (`hub.roster.importer.RosterState`)
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from sqlalchemy import Connection, Engine, select

from hub.domain.base import tenant_of
from hub.domain.roster import decode_rows
from hub.roster.rest_query import SqlPlan
from projections import status
from projections.roster_pages import collection_page
from projections.roster_view import NAME, RosterView, unsigned
from projections.schema import read_live

UPSTREAMS = ("roster",)
Handler = Callable[[RosterView, Connection, Any], None]


def _at(event: Any) -> str:
    timestamp: datetime = event.timestamp
    return timestamp.isoformat()


def _started(view: RosterView, conn: Connection, event: Any) -> None:
    view.start_import(
        conn,
        {
            "tenant": tenant_of(event.originator_id),
            "import_id": event.originator_id,
            "system": event.source_system,
            "origin": event.origin,
            "bundle_sha256": event.bundle_sha256,
            "modes": json.dumps(dict(event.modes), sort_keys=True),
            "started_at": _at(event),
        },
    )


def _records_applied(view: RosterView, conn: Connection, event: Any) -> None:
    tenant = tenant_of(event.originator_id)
    view.apply_records(
        conn,
        tenant,
        event.system,
        event.entity,
        event.originator_id,
        _at(event),
        [
            {"sourcedId": fields["sourcedId"], "checksum": checksum, "fields": fields}
            for checksum, fields in decode_rows(event.columns, event.rows)
        ],
        [{"sourcedId": sourced_id} for sourced_id in event.deletes],
    )


def _rows_rejected(view: RosterView, conn: Connection, event: Any) -> None:
    view.reject_rows(conn, tenant_of(event.originator_id), event.originator_id, event.errors)


def _finished(view: RosterView, conn: Connection, event: Any) -> None:
    view.finish_import(
        conn, tenant_of(event.originator_id), event.originator_id, _at(event), dict(event.stats)
    )


HANDLERS: dict[str, Handler] = {
    "RosterImport.Started": _started,
    "RosterImport.RecordsApplied": _records_applied,
    "RosterImport.RowsRejected": _rows_rejected,
    "RosterImport.Finished": _finished,
}


class RosterProjection(Projection[RosterView]):
    name = NAME
    topics = ()

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        handler = HANDLERS.get(type(domain_event).__qualname__)
        with self.view.changing(tracking) as conn:
            if handler is not None:
                handler(self.view, conn, domain_event)


# Readers


@lru_cache(maxsize=32)
def _view(engine: Engine, version: int) -> RosterView:
    return RosterView(engine, version)


def wait_for(engine: Engine, position: int, timeout: float = 5.0) -> None:
    """Return once the roster has applied `position` of the `roster` log (read your writes)."""
    status.wait_for(engine, NAME, position, timeout, upstream="roster")


@dataclass(frozen=True)
class RosterRecord:
    """A record as imported: its source, ids and every field by its 1.2 column name."""

    system: str
    entity: str
    sourced_id: str
    hub_id: str
    fields: dict[str, str]
    recorded_at: str


@dataclass(frozen=True)
class ClassMember:
    """An enrolment in a class with its user (NRPS: a member of the context)."""

    user_id: str
    sourced_id: str
    role: str
    primary: bool
    given_name: str
    family_name: str
    email: str
    enabled: bool


def records(
    engine: Engine, tenant: str, entity: str, *, system: str | None = None
) -> list[RosterRecord]:
    """The tenant's records of `entity` (a 1.2 file name), by system and sourcedId."""

    def read(conn: Connection, version: int) -> list[RosterRecord]:
        r = _view(conn.engine, version).records.c
        query = select(r.system, r.entity, r.sourced_id, r.hub_id, r.fields, r.recorded_at).where(
            r.tenant == tenant, r.entity == entity
        )
        if system is not None:
            query = query.where(r.system == system)
        return [
            RosterRecord(
                row.system,
                row.entity,
                row.sourced_id,
                row.hub_id,
                json.loads(row.fields),
                row.recorded_at,
            )
            for row in conn.execute(query.order_by(r.system, r.sourced_id))
        ]

    return read_live(engine, NAME, read, missing=[])


def record_pages(
    engine: Engine, tenant: str, entity: str, system: str, page: int = 5000
) -> Iterator[list[tuple[str, dict[str, str]]]]:
    """The (sourcedId, fields) of `system`'s records of `entity`, in sourcedId order, a page
    at a time (an export of a million enrolments never holds them all)."""
    after = ""
    while True:
        missing: list[tuple[str, str]] = []
        found = read_live(
            engine, NAME, partial(_page, tenant, entity, system, after, page), missing
        )
        if not found:
            return
        yield [(sourced_id, json.loads(fields)) for sourced_id, fields in found]
        after = found[-1][0]


def _page(  # noqa: PLR0917 - a keyset page's bounds
    tenant: str, entity: str, system: str, after: str, page: int, conn: Connection, version: int
) -> list[tuple[str, str]]:
    r = _view(conn.engine, version).records.c
    rows = conn.execute(
        select(r.sourced_id, r.fields)
        .where(r.tenant == tenant, r.system == system, r.entity == entity, r.sourced_id > after)
        .order_by(r.sourced_id)
        .limit(page)
    )
    return [(row.sourced_id, row.fields) for row in rows]


def class_members(engine: Engine, tenant: str, class_id: str) -> list[ClassMember]:
    """The enrolments of the class whose hub id is `class_id`, with their users."""

    def read(conn: Connection, version: int) -> list[ClassMember]:
        view = _view(conn.engine, version)
        r = view.records.c
        found = conn.execute(
            select(r.system, r.sourced_id).where(
                r.tenant == tenant, r.hub_id == class_id, r.entity == "classes"
            )
        ).first()
        if found is None:
            return []
        users = view.records.alias("users")
        u = users.c
        rows = conn.execute(
            select(r.fields, u.hub_id, u.sourced_id, u.fields.label("user_fields"))
            .select_from(
                view.records.join(
                    users,
                    (u.tenant == r.tenant)
                    & (u.system == r.system)
                    & (u.entity == "users")
                    & (u.sourced_id == r.user_ref),
                )
            )
            .where(
                r.tenant == tenant,
                r.class_ref == found.sourced_id,
                r.system == found.system,
                r.entity == "enrollments",
            )
            .order_by(u.sourced_id, r.role)
        )
        return [_member(row) for row in rows]

    return read_live(engine, NAME, read, missing=[])


def _member(row: Any) -> ClassMember:
    enrolment = json.loads(row.fields)
    user = json.loads(row.user_fields)
    return ClassMember(
        user_id=row.hub_id,
        sourced_id=row.sourced_id,
        role=enrolment.get("role", ""),
        primary=enrolment.get("primary") == "true",
        given_name=user.get("givenName", ""),
        family_name=user.get("familyName", ""),
        email=user.get("email", ""),
        enabled=user.get("enabledUser", "true") == "true",
    )


@dataclass(frozen=True)
class Relationship:
    """A user and an agent of theirs (a parent or guardian) from `agentSourcedIds`."""

    system: str
    user_sourced_id: str
    agent_sourced_id: str


def relationships(engine: Engine, tenant: str) -> list[Relationship]:
    def read(conn: Connection, version: int) -> list[Relationship]:
        rel = _view(conn.engine, version).relationships.c
        rows = conn.execute(
            select(rel.system, rel.user_ref, rel.agent_ref)
            .where(rel.tenant == tenant)
            .order_by(rel.system, rel.user_ref, rel.agent_ref)
        )
        return [Relationship(*row) for row in rows]

    return read_live(engine, NAME, read, missing=[])


@dataclass(frozen=True)
class ImportSummary:
    import_id: str
    system: str
    origin: str
    started_at: str
    finished_at: str | None
    applied: int
    rejected: int
    stats: dict[str, dict[str, int]]


def imports(engine: Engine, tenant: str) -> list[ImportSummary]:
    """The tenant's imports that recorded anything, newest first."""

    def read(conn: Connection, version: int) -> list[ImportSummary]:
        table = _view(conn.engine, version).imports
        i = table.c
        rows = conn.execute(
            select(table).where(i.tenant == tenant).order_by(i.started_at.desc(), i.import_id)
        )
        return [
            ImportSummary(
                row.import_id,
                row.system,
                row.origin,
                row.started_at,
                row.finished_at,
                row.applied,
                row.rejected,
                json.loads(row.stats or "{}"),
            )
            for row in rows
        ]

    return read_live(engine, NAME, read, missing=[])


def import_errors(engine: Engine, tenant: str, import_id: str) -> list[dict[str, Any]] | None:
    """The error rows of one import (file, row, column, code, message); None if unknown."""

    def read(conn: Connection, version: int) -> list[dict[str, Any]] | None:
        view = _view(conn.engine, version)
        i, e = view.imports.c, view.errors.c
        if (
            conn.execute(
                select(i.import_id).where(i.tenant == tenant, i.import_id == import_id)
            ).first()
            is None
        ):
            return None
        rows = conn.execute(
            select(e.file, e.row, e.column, e.code, e.message)
            .where(e.tenant == tenant, e.import_id == import_id)
            .order_by(e.seq)
        )
        return [dict(row._mapping) for row in rows]

    return read_live(engine, NAME, read, missing=None)


class SqlRosterState:
    """The import's view of what the roster holds (`hub.roster.importer.RosterState`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def checksums(
        self, tenant: str, system: str, entity: str
    ) -> tuple[Sequence[int], Sequence[int]]:
        """Keys and checksums of `entity`'s records as stored (signed), sorted by key, in two
        arrays of 64-bit ints (read through an index in key order: no sort, no conversion)."""

        def read(conn: Connection, version: int) -> tuple[Sequence[int], Sequence[int]]:
            r = _view(conn.engine, version).records.c
            query = (
                select(r.key, r.checksum)
                .where(r.tenant == tenant, r.system == system, r.entity == entity)
                .order_by(r.key)
            )
            # A million rows: through the driver's cursor, not SQLAlchemy's row objects.
            compiled = query.compile(dialect=conn.dialect)
            params: Any = compiled.params
            if compiled.positiontup is not None:
                params = tuple(compiled.params[name] for name in compiled.positiontup)
            cursor = conn.connection.cursor()
            try:
                cursor.execute(str(compiled), params)
                keys, sums = array("q"), array("q")
                while part := cursor.fetchmany(10_000):
                    keys.extend([row[0] for row in part])
                    sums.extend([row[1] for row in part])
            finally:
                cursor.close()
            return keys, sums

        nothing: tuple[Sequence[int], Sequence[int]] = ((), ())
        return read_live(self.engine, NAME, read, missing=nothing)

    def sourced_ids(self, tenant: str, system: str, entity: str, keys: set[int]) -> list[str]:
        if not keys:
            return []

        def read(conn: Connection, version: int) -> list[str]:
            r = _view(conn.engine, version).records.c
            rows = conn.execute(
                select(r.key, r.sourced_id).where(
                    r.tenant == tenant, r.system == system, r.entity == entity
                )
            )
            return [sourced_id for key, sourced_id in rows if unsigned(key) in keys]

        return read_live(self.engine, NAME, read, missing=[])

    def ids(self, tenant: str, system: str, entity: str) -> set[str]:
        def read(conn: Connection, version: int) -> set[str]:
            r = _view(conn.engine, version).records.c
            rows = conn.execute(
                select(r.sourced_id).where(
                    r.tenant == tenant, r.system == system, r.entity == entity
                )
            )
            return set(rows.scalars())

        return read_live(self.engine, NAME, read, missing=set())


class SqlRosterReadModel(SqlRosterState):
    """Everything the roster's commands and routes read, on one engine (`hub.roster.ports`)."""

    def wait_for(self, position: int, timeout: float = 30.0) -> None:
        wait_for(self.engine, position, timeout)

    def pages(
        self, tenant: str, entity: str, system: str
    ) -> Iterator[list[tuple[str, dict[str, str]]]]:
        return record_pages(self.engine, tenant, entity, system)

    def imports(self, tenant: str) -> list[ImportSummary]:
        return imports(self.engine, tenant)

    def import_errors(self, tenant: str, import_id: str) -> list[dict[str, Any]] | None:
        return import_errors(self.engine, tenant, import_id)

    def sources(
        self,
        tenant: str,
        entity: str,
        *,
        sourced_id: str | None = None,
        class_ref: str | None = None,
        user_ref: str | None = None,
    ) -> list[RosterRecord]:
        """The tenant's records of `entity` (every system), by sourcedId, narrowed by id,
        class or user."""

        def read(conn: Connection, version: int) -> list[RosterRecord]:
            r = _view(conn.engine, version).records.c
            query = select(r.system, r.sourced_id, r.hub_id, r.fields, r.recorded_at).where(
                r.tenant == tenant, r.entity == entity
            )
            for column, value in (
                (r.sourced_id, sourced_id),
                (r.class_ref, class_ref),
                (r.user_ref, user_ref),
            ):
                if value is not None:
                    query = query.where(column == value)
            rows = conn.execute(query.order_by(r.sourced_id, r.system))
            return [
                RosterRecord(
                    row.system,
                    entity,
                    row.sourced_id,
                    row.hub_id,
                    json.loads(row.fields),
                    row.recorded_at,
                )
                for row in rows
            ]

        return read_live(self.engine, NAME, read, missing=[])

    def collection_page(
        self, tenant: str, entity: str, plan: SqlPlan, *, offset: int, limit: int
    ) -> tuple[int, list[RosterRecord]]:
        """(how many match, a page), filtered and sorted in SQL (`projections.roster_pages`)."""

        def read(conn: Connection, version: int) -> tuple[int, list[RosterRecord]]:
            view = _view(conn.engine, version)
            total, rows = collection_page(conn, view, tenant, entity, plan, page=(offset, limit))
            return total, [
                RosterRecord(
                    row.system,
                    entity,
                    row.sourced_id,
                    row.hub_id,
                    json.loads(row.fields),
                    row.recorded_at,
                )
                for row in rows
            ]

        nothing: tuple[int, list[RosterRecord]] = (0, [])
        return read_live(self.engine, NAME, read, missing=nothing)

    def role_rows(
        self, tenant: str, users: Sequence[str] | None = None
    ) -> tuple[list[tuple[str, dict[str, str]]], list[tuple[str, str, str]]]:
        """The tenant's roles.csv records as (user, fields), and its distinct enrolment roles
        as (user, role, school); of `users` only when given (a page of users)."""

        def read(
            conn: Connection, version: int
        ) -> tuple[list[tuple[str, dict[str, str]]], list[tuple[str, str, str]]]:
            r = _view(conn.engine, version).records.c
            only = [] if users is None else [r.user_ref.in_(users)]
            roles = conn.execute(
                select(r.user_ref, r.fields)
                .where(r.tenant == tenant, r.entity == "roles", *only)
                .order_by(r.user_ref, r.sourced_id)
            )
            enrolled = conn.execute(
                select(r.user_ref, r.role, r.org_ref)
                .where(r.tenant == tenant, r.entity == "enrollments", *only)
                .distinct()
                .order_by(r.user_ref, r.role, r.org_ref)
            )
            return (
                [(user, json.loads(fields)) for user, fields in roles],
                [(user, role or "", org or "") for user, role, org in enrolled],
            )

        nothing: tuple[list[tuple[str, dict[str, str]]], list[tuple[str, str, str]]] = ([], [])
        return read_live(self.engine, NAME, read, missing=nothing)
