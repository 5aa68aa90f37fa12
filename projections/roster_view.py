"""The roster's tables, and the changes its projection makes to them.

One version's tables (`roster_<table>_v<N>`): every record of every OneRoster entity
(its fields as JSON, its 64-bit key and checksum for the import's diff, and the
columns NRPS and the REST publisher look up by), user relationships (guardians from
`agentSourcedIds`), imports and their error rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    update,
)

from hub.domain.roster import hub_id, key_of
from projections.view import SqlView

NAME = "roster"
_ID = 255
_HALF = 1 << 63


def signed(value: int) -> int:
    """An unsigned 64-bit key or checksum as a signed BIGINT."""
    return value - _HALF


def unsigned(value: int) -> int:
    return value + _HALF


class RosterView(SqlView):
    """`roster_<table>_v<N>`: records, relationships, imports, errors."""

    projection_name = NAME

    def define_tables(self, metadata: MetaData) -> None:
        def key(name: str, length: int = _ID) -> Column[str]:
            return Column(name, String(length), primary_key=True)

        self.records = Table(
            self.table_name("records"),
            metadata,
            key("tenant", 64),
            key("system", 64),
            key("entity", 40),
            key("sourced_id"),
            Column("hub_id", String(200), nullable=False),
            Column("key", BigInteger, nullable=False),
            Column("checksum", BigInteger, nullable=False),
            Column("fields", Text, nullable=False),
            Column("class_ref", String(_ID)),
            Column("user_ref", String(_ID)),
            Column("role", String(64)),
            Column("org_ref", String(_ID)),
            Column("import_id", String(200), nullable=False),
            Column("recorded_at", String(40), nullable=False),
        )
        Index(f"{self.records.name}_class", self.records.c.tenant, self.records.c.class_ref)
        Index(f"{self.records.name}_hub", self.records.c.tenant, self.records.c.hub_id)
        Index(f"{self.records.name}_user", self.records.c.tenant, self.records.c.user_ref)
        r = self.records.c
        # The REST publisher's pages: a tenant's records of an entity by sourcedId, in code
        # point order (`projections.roster_pages`: PostgreSQL's "C" collation).
        by_id = (
            r.sourced_id.collate("C") if self.engine.dialect.name == "postgresql" else r.sourced_id
        )
        Index(f"{self.records.name}_page", r.tenant, r.entity, by_id, r.system)
        # The import's diff reads a file's keys and checksums in key order.
        Index(f"{self.records.name}_key", r.tenant, r.system, r.entity, r.key, r.checksum)
        self.relationships = Table(
            self.table_name("relationships"),
            metadata,
            key("tenant", 64),
            key("system", 64),
            key("user_ref"),
            key("agent_ref"),
        )
        self.imports = Table(
            self.table_name("imports"),
            metadata,
            key("tenant", 64),
            key("import_id", 200),
            Column("system", String(64), nullable=False),
            Column("origin", String(64), nullable=False),
            Column("bundle_sha256", String(64), nullable=False),
            Column("modes", Text, nullable=False),
            Column("started_at", String(40), nullable=False),
            Column("finished_at", String(40)),
            Column("stats", Text),
            Column("applied", Integer, nullable=False),
            Column("rejected", Integer, nullable=False),
        )
        self.errors = Table(
            self.table_name("errors"),
            metadata,
            key("tenant", 64),
            key("import_id", 200),
            Column("seq", Integer, primary_key=True, autoincrement=False),
            Column("file", String(64), nullable=False),
            Column("row", Integer, nullable=False),
            Column("column", String(128), nullable=False),
            Column("code", String(64), nullable=False),
            Column("message", Text, nullable=False),
        )

    def start_import(self, conn: Connection, values: dict[str, Any]) -> None:
        conn.execute(insert(self.imports).values(applied=0, rejected=0, **values))

    def apply_records(  # noqa: PLR0917 - one batch of one import
        self,
        conn: Connection,
        tenant: str,
        system: str,
        entity: str,
        import_id: str,
        at: str,
        upserts: Sequence[dict[str, Any]],
        deletes: Sequence[dict[str, Any]],
    ) -> None:
        r = self.records.c
        ids = [record["sourcedId"] for record in (*upserts, *deletes)]
        if ids:
            conn.execute(
                delete(self.records).where(
                    r.tenant == tenant,
                    r.system == system,
                    r.entity == entity,
                    r.sourced_id.in_(ids),
                )
            )
        if entity == "users":
            self._relate(conn, tenant, system, ids, upserts)
        if upserts:
            conn.execute(
                insert(self.records),
                [_row(tenant, system, entity, import_id, at, record) for record in upserts],
            )
        self._count(conn, tenant, import_id, applied=len(ids))

    def _relate(
        self,
        conn: Connection,
        tenant: str,
        system: str,
        ids: list[str],
        upserts: Sequence[dict[str, Any]],
    ) -> None:
        rel = self.relationships.c
        conn.execute(
            delete(self.relationships).where(
                rel.tenant == tenant, rel.system == system, rel.user_ref.in_(ids)
            )
        )
        links = {
            (record["sourcedId"], agent.strip())
            for record in upserts
            for agent in record["fields"].get("agentSourcedIds", "").split(",")
            if agent.strip()
        }
        if links:
            conn.execute(
                insert(self.relationships),
                [
                    {"tenant": tenant, "system": system, "user_ref": user, "agent_ref": agent}
                    for user, agent in sorted(links)
                ],
            )

    def reject_rows(
        self, conn: Connection, tenant: str, import_id: str, errors: Sequence[dict[str, Any]]
    ) -> None:
        i = self.imports.c
        done = conn.execute(
            update(self.imports)
            .where(i.tenant == tenant, i.import_id == import_id)
            .values(rejected=i.rejected + len(errors))
            .returning(i.rejected)
        ).scalar_one()
        first = done - len(errors)
        conn.execute(
            insert(self.errors),
            [
                {"tenant": tenant, "import_id": import_id, "seq": first + n, **error}
                for n, error in enumerate(errors)
            ],
        )

    def finish_import(
        self, conn: Connection, tenant: str, import_id: str, at: str, stats: dict[str, Any]
    ) -> None:
        i = self.imports.c
        conn.execute(
            update(self.imports)
            .where(i.tenant == tenant, i.import_id == import_id)
            .values(finished_at=at, stats=json.dumps(stats, sort_keys=True))
        )

    def _count(self, conn: Connection, tenant: str, import_id: str, applied: int) -> None:
        i = self.imports.c
        conn.execute(
            update(self.imports)
            .where(i.tenant == tenant, i.import_id == import_id)
            .values(applied=i.applied + applied)
        )


def _row(  # noqa: PLR0917
    tenant: str, system: str, entity: str, import_id: str, at: str, record: dict[str, Any]
) -> dict[str, Any]:
    fields: dict[str, str] = record["fields"]
    return {
        "tenant": tenant,
        "system": system,
        "entity": entity,
        "sourced_id": record["sourcedId"],
        "hub_id": hub_id(tenant, system, entity, record["sourcedId"]),
        "key": signed(key_of(record["sourcedId"])),
        "checksum": signed(int(record["checksum"], 16)),
        "fields": json.dumps(fields, separators=(",", ":")),
        "class_ref": fields.get("classSourcedId"),
        "user_ref": fields.get("userSourcedId"),
        "role": fields.get("role"),
        "org_ref": fields.get("schoolSourcedId") or fields.get("orgSourcedId"),
        "import_id": import_id,
        "recorded_at": at,
    }
