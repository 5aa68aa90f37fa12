"""The portfolio's tables, and the changes its projection makes to them.

One version's tables (`portfolio_<table>_v<N>`): learners, enrolments, quests, tasks
(from the `hub` log), completed tasks (from `progress`, with the titles the hub's rows
give them) and XP per learner and pillar (recomputed from the completions).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
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
    func,
    select,
    update,
)

from infra.sql import upsert
from projections.view import SqlView

NAME = "portfolio"
_ID = 200  # `<tenant>.<Type>.<32 hex>` ids, and partners' external ids


class PortfolioView(SqlView):
    """`portfolio_<table>_v<N>`: learners, enrolments, quests, tasks, completed, xp."""

    projection_name = NAME

    def define_tables(self, metadata: MetaData) -> None:
        def key(name: str) -> Column[str]:
            return Column(name, String(_ID), primary_key=True)

        self.learners = Table(
            self.table_name("learners"),
            metadata,
            key("tenant"),
            key("learner_id"),
            Column("name", String(400), nullable=False),
            Column("email", String(320), nullable=False),
            Column("role", String(32), nullable=False),
        )
        self.enrolments = Table(
            self.table_name("enrolments"),
            metadata,
            key("tenant"),
            key("learner_id"),
            key("quest_id"),
        )
        self.quests = Table(
            self.table_name("quests"),
            metadata,
            key("tenant"),
            key("quest_id"),
            Column("title", String(500), nullable=False),
        )
        self.tasks = Table(
            self.table_name("tasks"),
            metadata,
            key("tenant"),
            key("task_id"),
            Column("quest_id", String(_ID), nullable=False),
            Column("title", String(500), nullable=False),
            Column("pillar", String(32), nullable=False),
            Column("xp", Integer, nullable=False),
        )
        self.completed = Table(
            self.table_name("completed"),
            metadata,
            key("tenant"),
            key("learner_id"),
            key("task_id"),
            Column("quest_id", String(_ID), nullable=False),
            Column("quest_title", String(500), nullable=False),
            Column("task_title", String(500), nullable=False),
            Column("pillar", String(32), nullable=False),
            Column("xp", Integer, nullable=False),
            Column("submitted_at", String(64), nullable=False),
            Column("source", String(64), nullable=False),
            Column("evidence", JSON, nullable=False),
            Column("text", Text, nullable=False),
            Column("submission_id", String(_ID), nullable=False),
            Column("resubmissions", Integer, nullable=False),
        )
        # The fan-out of a quest's or a task's new title to the completions of it.
        completed = self.completed.c
        Index(f"ix_{self.completed.name}_quest", completed.tenant, completed.quest_id)
        Index(f"ix_{self.completed.name}_task", completed.tenant, completed.task_id)
        self.xp = Table(
            self.table_name("xp"),
            metadata,
            key("tenant"),
            key("learner_id"),
            Column("pillar", String(32), primary_key=True),
            Column("xp", BigInteger, nullable=False),
        )

    # hub: learners

    def register_learner(
        self, conn: Connection, tenant: str, learner_id: str, values: dict[str, str]
    ) -> None:
        statement = upsert(conn, self.learners).values(
            tenant=tenant, learner_id=learner_id, **values
        )
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[self.learners.c.tenant, self.learners.c.learner_id], set_=values
            )
        )

    def update_learner(
        self, conn: Connection, tenant: str, learner_id: str, values: dict[str, str]
    ) -> None:
        learners = self.learners.c
        conn.execute(
            update(self.learners)
            .where(learners.tenant == tenant, learners.learner_id == learner_id)
            .values(**values)
        )

    def enrol(self, conn: Connection, tenant: str, learner_id: str, quest_id: str) -> None:
        statement = upsert(conn, self.enrolments).values(
            tenant=tenant, learner_id=learner_id, quest_id=quest_id
        )
        conn.execute(statement.on_conflict_do_nothing())

    def drop(self, conn: Connection, tenant: str, learner_id: str, quest_id: str) -> None:
        e = self.enrolments.c
        conn.execute(
            delete(self.enrolments).where(
                e.tenant == tenant, e.learner_id == learner_id, e.quest_id == quest_id
            )
        )

    # hub: quests and tasks

    def name_quest(self, conn: Connection, tenant: str, quest_id: str, title: str) -> None:
        q, c = self.quests.c, self.completed.c
        statement = upsert(conn, self.quests).values(tenant=tenant, quest_id=quest_id, title=title)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[q.tenant, q.quest_id], set_={"title": title}
            )
        )
        conn.execute(
            update(self.completed)
            .where(c.tenant == tenant, c.quest_id == quest_id)
            .values(quest_title=title)
        )

    def sync_task(
        self, conn: Connection, tenant: str, task_id: str, values: dict[str, Any]
    ) -> None:
        t, c = self.tasks.c, self.completed.c
        statement = upsert(conn, self.tasks).values(tenant=tenant, task_id=task_id, **values)
        conn.execute(
            statement.on_conflict_do_update(index_elements=[t.tenant, t.task_id], set_=values)
        )
        conn.execute(
            update(self.completed)
            .where(c.tenant == tenant, c.task_id == task_id)
            .values(task_title=values["title"])
        )

    def update_task(
        self, conn: Connection, tenant: str, task_id: str, values: dict[str, Any]
    ) -> None:
        t, c = self.tasks.c, self.completed.c
        conn.execute(
            update(self.tasks).where(t.tenant == tenant, t.task_id == task_id).values(**values)
        )
        conn.execute(
            update(self.completed)
            .where(c.tenant == tenant, c.task_id == task_id)
            .values(task_title=values["title"])
        )

    # progress: completions

    def complete(
        self, conn: Connection, tenant: str, row: dict[str, Any], quest_title: str = ""
    ) -> None:
        """A first completion of a task by a learner (a repeated one changes nothing).

        The titles are the hub's rows' when known (the latest), else the event's.
        """
        known_quest_title = conn.execute(
            select(self.quests.c.title).where(
                self.quests.c.tenant == tenant, self.quests.c.quest_id == row["quest_id"]
            )
        ).scalar()
        task_title = conn.execute(
            select(self.tasks.c.title).where(
                self.tasks.c.tenant == tenant, self.tasks.c.task_id == row["task_id"]
            )
        ).scalar()
        values = {
            **row,
            "tenant": tenant,
            "quest_title": known_quest_title if known_quest_title is not None else quest_title,
            "task_title": task_title if task_title is not None else row["task_title"],
            "resubmissions": 0,
        }
        conn.execute(upsert(conn, self.completed).values(**values).on_conflict_do_nothing())
        self._total_xp(conn, tenant, row["learner_id"], row["pillar"])

    def resubmit(
        self, conn: Connection, tenant: str, learner_id: str, task_id: str, latest: dict[str, Any]
    ) -> None:
        """A later submission of a completed task: its work is shown, no XP is added."""
        c = self.completed.c
        conn.execute(
            update(self.completed)
            .where(c.tenant == tenant, c.learner_id == learner_id, c.task_id == task_id)
            .values(resubmissions=c.resubmissions + 1, **latest)
        )

    def _total_xp(self, conn: Connection, tenant: str, learner_id: str, pillar: str) -> None:
        c, x = self.completed.c, self.xp.c
        total = conn.execute(
            select(func.coalesce(func.sum(c.xp), 0)).where(
                c.tenant == tenant, c.learner_id == learner_id, c.pillar == pillar
            )
        ).scalar_one()
        statement = upsert(conn, self.xp).values(
            tenant=tenant, learner_id=learner_id, pillar=pillar, xp=total
        )
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[x.tenant, x.learner_id, x.pillar], set_={"xp": total}
            )
        )

    # Pages at once (`projections.paging`): the rows the one-event methods above make.

    def register_learners(self, conn: Connection, rows: list[dict[str, str]]) -> None:
        """`register_learner` for each row (`tenant`, `learner_id`, name, email, role)."""
        statement = upsert(conn, self.learners)
        changed = {name: statement.excluded[name] for name in ("name", "email", "role")}
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[self.learners.c.tenant, self.learners.c.learner_id], set_=changed
            ),
            rows,
        )

    def enrol_many(self, conn: Connection, rows: list[dict[str, str]]) -> None:
        """`enrol` for each row (`tenant`, `learner_id`, `quest_id`)."""
        conn.execute(upsert(conn, self.enrolments).on_conflict_do_nothing(), rows)

    def complete_many(
        self, conn: Connection, completions: list[tuple[str, dict[str, Any], str]]
    ) -> None:
        """`complete` for each (tenant, row, quest title from the event), in their order."""
        quest_titles = self._titles(
            conn, self.quests, "quest_id", {(t, r["quest_id"]) for t, r, _ in completions}
        )
        task_titles = self._titles(
            conn, self.tasks, "task_id", {(t, r["task_id"]) for t, r, _ in completions}
        )
        rows = []
        for tenant, row, quest_title in completions:
            known_quest = quest_titles.get((tenant, row["quest_id"]))
            known_task = task_titles.get((tenant, row["task_id"]))
            rows.append(
                {
                    **row,
                    "tenant": tenant,
                    "quest_title": known_quest if known_quest is not None else quest_title,
                    "task_title": known_task if known_task is not None else row["task_title"],
                    "resubmissions": 0,
                }
            )
        conn.execute(upsert(conn, self.completed).on_conflict_do_nothing(), rows)
        self._total_xp_of(conn, {(r["tenant"], r["learner_id"], r["pillar"]) for r in rows})

    def _titles(
        self, conn: Connection, table: Table, key: str, ids: set[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """Titles by (tenant, id), one query per tenant (on the primary key's prefix)."""
        column = table.c[key]
        found: dict[tuple[str, str], str] = {}
        for tenant, of_tenant in _by_tenant(ids).items():
            rows = conn.execute(
                select(column, table.c.title).where(table.c.tenant == tenant, column.in_(of_tenant))
            )
            found.update(((tenant, id_), title) for id_, title in rows)
        return found

    def _total_xp_of(self, conn: Connection, touched: set[tuple[str, str, str]]) -> None:
        """`_total_xp` for every (tenant, learner, pillar) in `touched`."""
        c = self.completed.c
        rows = []
        learners = {(tenant, learner) for tenant, learner, _ in touched}
        for tenant, of_tenant in _by_tenant(learners).items():
            totals = conn.execute(
                select(c.learner_id, c.pillar, func.sum(c.xp))
                .where(c.tenant == tenant, c.learner_id.in_(of_tenant))
                .group_by(c.learner_id, c.pillar)
            )
            rows += [
                {"tenant": tenant, "learner_id": learner, "pillar": pillar, "xp": int(total)}
                for learner, pillar, total in totals
                if (tenant, learner, pillar) in touched
            ]
        statement = upsert(conn, self.xp)
        x = self.xp.c
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[x.tenant, x.learner_id, x.pillar],
                set_={"xp": statement.excluded.xp},
            ),
            rows,
        )


def _by_tenant(keys: set[tuple[str, str]]) -> dict[str, list[str]]:
    """(tenant, id) pairs as sorted ids per tenant."""
    found: dict[str, list[str]] = {}
    for tenant, id_ in sorted(keys):
        found.setdefault(tenant, []).append(id_)
    return found
