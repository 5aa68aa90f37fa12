"""The badge read model's tables, and the changes its projection makes to them.

One version's tables (`badges_<table>_v<N>`), each a set of facts that no order of
events changes: the tenants' badge rules (from the hub's `BadgeBook`), quests and the
tasks they list (the hub's `Quest`), learners' completions (`progress`) and the badges
they earned (`badges`). Progress is computed from them when read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Connection, Integer, MetaData, String, Table, update

from infra.sql import upsert
from projections.view import SqlView

NAME = "badges"
_ID = 200


class BadgesView(SqlView):
    """`badges_<table>_v<N>`: rules, quests, done, earned."""

    projection_name = NAME

    def define_tables(self, metadata: MetaData) -> None:
        def key(name: str) -> Column[str]:
            return Column(name, String(_ID), primary_key=True)

        self.rules = Table(
            self.table_name("rules"),
            metadata,
            key("tenant"),
            key("badge_id"),
            Column("key", String(60), nullable=False),
            Column("name", String(200), nullable=False),
            Column("description", String(1000), nullable=False),
            Column("pillar", String(32), nullable=False),
            Column("kind", String(16), nullable=False),
            Column("min_quests", Integer, nullable=False),
            Column("min_xp", Integer, nullable=False),
            Column("required", JSON, nullable=False),
            Column("retired", Boolean, nullable=False),
        )
        self.quests = Table(
            self.table_name("quests"),
            metadata,
            key("tenant"),
            key("quest_id"),
            Column("source", String(64), nullable=False),
            Column("title", String(500), nullable=False),
            Column("task_ids", JSON, nullable=False),
        )
        self.done = Table(
            self.table_name("done"),
            metadata,
            key("tenant"),
            key("learner_id"),
            key("task_id"),
            Column("quest_id", String(_ID), nullable=False),
            Column("pillar", String(32), nullable=False),
            Column("xp", Integer, nullable=False),
        )
        self.earned = Table(
            self.table_name("earned"),
            metadata,
            key("tenant"),
            key("learner_id"),
            key("badge_id"),
            Column("earned_at", String(64), nullable=False),
        )

    def define_rule(self, conn: Connection, tenant: str, values: dict[str, Any]) -> None:
        """A badge defined or updated: its rule as it is now (not retired)."""
        row = {**values, "tenant": tenant, "retired": False}
        changes = {k: v for k, v in row.items() if k not in ("tenant", "badge_id")}
        statement = upsert(conn, self.rules).values(**row)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[self.rules.c.tenant, self.rules.c.badge_id], set_=changes
            )
        )

    def retire_rule(self, conn: Connection, tenant: str, badge_id: str) -> None:
        r = self.rules.c
        conn.execute(
            update(self.rules)
            .where(r.tenant == tenant, r.badge_id == badge_id)
            .values(retired=True)
        )

    def name_quest(
        self, conn: Connection, tenant: str, quest_id: str, values: dict[str, Any]
    ) -> None:
        statement = upsert(conn, self.quests).values(tenant=tenant, quest_id=quest_id, **values)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[self.quests.c.tenant, self.quests.c.quest_id], set_=values
            )
        )

    def add_done(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """First completions (a repeated one changes nothing)."""
        if rows:
            conn.execute(upsert(conn, self.done).on_conflict_do_nothing(), list(rows))

    def add_earned(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            conn.execute(upsert(conn, self.earned).on_conflict_do_nothing(), list(rows))
