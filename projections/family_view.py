"""The family read model's tables, and the changes its projection makes to them.

One version's tables (`family_<table>_v<N>`). From the `hub` log: people (learners and
accounts), guardians (live links only), settings (each tenant's rhythm), invitations,
observers (removed ones kept, marked, so access can say why it ended), comments, and the
quests, tasks (with due dates) and enrolments that active quests are made of. From
`progress`: completions (the latest work of each completed task). Each row holds what
its own events said; titles and progress are joined when read, so the rows do not
depend on how the two logs interleave.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    update,
)
from sqlalchemy.sql.expression import Executable

from infra.sql import upsert
from projections.view import SqlView

NAME = "family"
_ID = 200  # `<tenant>.<Type>.<32 hex>` ids
_WHEN = 64  # ISO 8601 timestamps, as the events carry them


def _key(name: str) -> Column[str]:
    return Column(name, String(_ID), primary_key=True)


def _text(name: str, length: int = 400) -> Column[str]:
    return Column(name, String(length), nullable=False)


def _flag(name: str) -> Column[bool]:
    return Column(name, Boolean, nullable=False)


class FamilyView(SqlView):
    """`family_<table>_v<N>`: people, guardians, settings, invitations, observers, comments,
    quests, tasks, enrolments, completions."""

    projection_name = NAME

    def define_tables(self, metadata: MetaData) -> None:
        self._statements: dict[tuple[object, ...], Executable] = {}

        def table(suffix: str, *columns: Column[Any]) -> Table:
            return Table(self.table_name(suffix), metadata, _key("tenant"), *columns)

        self.people = table(
            "people", _key("person_id"), _text("name"), _text("email", 320), _text("role", 32)
        )
        self.guardians = table(
            "guardians",
            _key("guardian_id"),
            _key("student_id"),
            _text("relationship", 100),
            _text("source", 64),
        )
        Index(
            f"ix_{self.guardians.name}_student",
            self.guardians.c.tenant,
            self.guardians.c.student_id,
        )
        self.settings = table("settings", Column("rhythm_days", Integer, nullable=False))
        self.invitations = table(
            "invitations",
            _key("invitation_id"),
            _text("student_id", _ID),
            _text("email", 320),
            _text("name"),
            _text("relationship", 100),
            _flag("can_view_evidence"),
            _flag("can_comment"),
            _text("sent_at", _WHEN),
            _text("expires_at", _WHEN),
            _text("status", 16),
            _text("observer_id", _ID),
            _text("settled_at", _WHEN),
        )
        Index(
            f"ix_{self.invitations.name}_student",
            self.invitations.c.tenant,
            self.invitations.c.student_id,
        )
        self.observers = table(
            "observers",
            _key("student_id"),
            _key("observer_id"),
            _text("relationship", 100),
            _flag("can_view_evidence"),
            _flag("can_comment"),
            _text("linked_at", _WHEN),
            _text("status", 16),
            _text("removed_at", _WHEN),
        )
        Index(
            f"ix_{self.observers.name}_observer",
            self.observers.c.tenant,
            self.observers.c.observer_id,
        )
        self.comments = table(
            "comments",
            _key("comment_id"),
            _text("student_id", _ID),
            _text("observer_id", _ID),
            _text("task_id", _ID),
            Column("text", Text, nullable=False),
            _text("left_at", _WHEN),
        )
        Index(
            f"ix_{self.comments.name}_student", self.comments.c.tenant, self.comments.c.student_id
        )
        self.quests = table("quests", _key("quest_id"), _text("title", 500))
        self.tasks = table(
            "tasks",
            _key("task_id"),
            _text("quest_id", _ID),
            _text("title", 500),
            _text("due_at", _WHEN),
        )
        Index(f"ix_{self.tasks.name}_quest", self.tasks.c.tenant, self.tasks.c.quest_id)
        self.enrolments = table("enrolments", _key("learner_id"), _key("quest_id"))
        self.completions = table(
            "completions",
            _key("learner_id"),
            _key("task_id"),
            _text("quest_id", _ID),
            _text("task_title", 500),
            _text("submitted_at", _WHEN),
            _text("source", 64),
            Column("evidence", JSON, nullable=False),
            Column("text", Text, nullable=False),
        )

    # generic changes: one statement per table and shape, built once and executed with its
    # values as parameters (building a statement per event cost more than running it)

    def put(self, conn: Connection, table: Table, **values: Any) -> None:
        """Insert the row, or update every non-key column of the row with its key."""
        conn.execute(self._statement(conn, "put", table, tuple(values)), values)

    def put_many(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
        """`put` each row (all with the same columns), in their order, in one `executemany`."""
        if rows:
            conn.execute(self._statement(conn, "put", table, tuple(rows[0])), rows)

    def change(self, conn: Connection, table: Table, key: dict[str, str], **values: Any) -> None:
        """Update the row with `key` (nothing if there is none)."""
        statement = self._statement(conn, "change", table, tuple(key), tuple(values))
        conn.execute(statement, {**{f"k_{k}": v for k, v in key.items()}, **values})

    def remove(self, conn: Connection, table: Table, **key: str) -> None:
        statement = self._statement(conn, "remove", table, tuple(key))
        conn.execute(statement, {f"k_{k}": v for k, v in key.items()})

    def _statement(
        self, conn: Connection, kind: str, table: Table, *names: tuple[str, ...]
    ) -> Executable:
        cache_key = (conn.dialect.name, kind, table.name, *names)
        found = self._statements.get(cache_key)
        if found is None:
            found = self._statements[cache_key] = _build(conn, kind, table, *names)
        return found


def _where_key(table: Table, key: tuple[str, ...]) -> list[Any]:
    return [table.c[k] == bindparam(f"k_{k}") for k in key]


def _build(conn: Connection, kind: str, table: Table, *names: tuple[str, ...]) -> Executable:
    if kind == "remove":
        return delete(table).where(*_where_key(table, names[0]))
    if kind == "change":
        key, columns = names
        return (
            update(table).where(*_where_key(table, key)).values({c: bindparam(c) for c in columns})
        )
    keys = [column.name for column in table.primary_key.columns]
    statement = upsert(conn, table)
    changes = [c for c in names[0] if c not in keys]
    if not changes:
        return statement.on_conflict_do_nothing(index_elements=keys)  # type: ignore[no-any-return]
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=keys, set_={c: statement.excluded[c] for c in changes}
    )
