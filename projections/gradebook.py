"""The gradebook read model: the line items tools keep in each context, and the latest
score of each user on each (from `LtiGradebook` and `LtiResult` events of the `hub` log).

Readers: `results_of(engine, tenant, line_item_id, user_id, limit)` (what AGS results
serve), `context_gradebook(engine, tenant, context_id)` and `wait_for(engine, position)`.
Events are recognised by their class's qualified name: this module imports no domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    delete,
    select,
)

from hub.domain.base import tenant_of
from infra.sql import upsert
from projections import status
from projections.gradebook_members import context_members
from projections.schema import read_live
from projections.view import SqlView
from schemas.lti import Member, MembersQuery

if TYPE_CHECKING:
    from hub.lti.platform.readers import MembersOf, ResultsOf

NAME = "gradebook"
_ID = 200


class GradebookView(SqlView):
    """`gradebook_line_items_v<N>` and `gradebook_results_v<N>`."""

    projection_name = NAME

    def define_tables(self, metadata: MetaData) -> None:
        def key(name: str) -> Column[str]:
            return Column(name, String(_ID), primary_key=True)

        self.line_items = Table(
            self.table_name("line_items"),
            metadata,
            key("tenant"),
            key("line_item_id"),
            Column("label", String(500), nullable=False),
            Column("score_maximum", Float, nullable=False),
            Column("spark_assignment_id", String(_ID)),
            Column("item", JSON, nullable=False),
        )
        self.results = Table(
            self.table_name("results"),
            metadata,
            key("tenant"),
            key("line_item_id"),
            key("user_id"),
            Column("context_id", String(_ID), nullable=False, index=True),
            Column("score_given", Float),
            Column("score_maximum", Float),
            Column("grading_progress", String(32), nullable=False),
            Column("timestamp", String(64), nullable=False),
            Column("position", BigInteger, nullable=False),
            Column("score", JSON, nullable=False),
        )

    def put_line_item(self, conn: Connection, tenant: str, event: Any) -> None:
        item = event.item
        values = {
            "label": str(item.get("label", "")),
            "score_maximum": float(item.get("scoreMaximum", 0)),
            "spark_assignment_id": item.get("spark_assignment_id"),
            "item": item,
        }
        statement = upsert(conn, self.line_items).values(
            tenant=tenant, line_item_id=event.line_item_id, **values
        )
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[self.line_items.c.tenant, self.line_items.c.line_item_id],
                set_=values,
            )
        )

    def drop_line_item(self, conn: Connection, tenant: str, line_item_id: str) -> None:
        c = self.line_items.c
        conn.execute(
            delete(self.line_items).where(c.tenant == tenant, c.line_item_id == line_item_id)
        )

    def put_result(self, conn: Connection, tenant: str, event: Any, position: int) -> None:
        score = event.score
        values = {
            "context_id": str(score.get("context_id", "")),
            "score_given": score.get("scoreGiven"),
            "score_maximum": score.get("scoreMaximum"),
            "grading_progress": str(score.get("gradingProgress", "")),
            "timestamp": str(score.get("timestamp", "")),
            "position": position,
            "score": {**score, "userId": _user_of(event)},
        }
        statement = upsert(conn, self.results).values(
            tenant=tenant, line_item_id=_line_item_of(event), user_id=_user_of(event), **values
        )
        c = self.results.c
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[c.tenant, c.line_item_id, c.user_id], set_=values
            )
        )


def _line_item_of(event: Any) -> str:
    return str(event.score.get("line_item", {}).get("id") or getattr(event, "line_item_id", ""))


def _user_of(event: Any) -> str:
    return str(event.score["userId"])


Handler = Callable[[GradebookView, Connection, Any, int], None]


def _line_item_put(view: GradebookView, conn: Connection, event: Any, _: int) -> None:
    view.put_line_item(conn, tenant_of(event.originator_id), event)


def _line_item_deleted(view: GradebookView, conn: Connection, event: Any, _: int) -> None:
    view.drop_line_item(conn, tenant_of(event.originator_id), event.line_item_id)


def _score(view: GradebookView, conn: Connection, event: Any, position: int) -> None:
    view.put_result(conn, tenant_of(event.originator_id), event, position)


HANDLERS: dict[str, Handler] = {
    "LtiGradebook.LineItemCreated": _line_item_put,
    "LtiGradebook.LineItemUpdated": _line_item_put,
    "LtiGradebook.LineItemDeleted": _line_item_deleted,
    "LtiResult.ScorePosted": _score,
    "LtiResult.ScoreUpdated": _score,
}


class GradebookProjection(Projection[GradebookView]):
    name = NAME
    topics = ()

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        handler = HANDLERS.get(type(domain_event).__qualname__)
        with self.view.changing(tracking) as conn:
            if handler is not None:
                handler(self.view, conn, domain_event, tracking.notification_id)


# Readers: every query takes the tenant.


@dataclass(frozen=True)
class GradeRow:
    line_item_id: str
    label: str
    user_id: str
    score_given: float | None
    score_maximum: float | None
    grading_progress: str
    timestamp: str


@lru_cache(maxsize=32)
def _view(engine: Engine, version: int) -> GradebookView:
    return GradebookView(engine, version)


def results_of(
    engine: Engine, tenant: str, line_item_id: str, user_id: str | None, limit: int
) -> list[dict[str, Any]]:
    """The latest score (the `ScorePosted` body) of each user on a line item, by user."""

    def read(conn: Connection, version: int) -> list[dict[str, Any]]:
        c = _view(conn.engine, version).results.c
        query = select(c.score).where(c.tenant == tenant, c.line_item_id == line_item_id)
        if user_id is not None:
            query = query.where(c.user_id == user_id)
        return [dict(row.score) for row in conn.execute(query.order_by(c.user_id).limit(limit))]

    return read_live(engine, NAME, read, missing=[])


def context_gradebook(engine: Engine, tenant: str, context_id: str) -> list[GradeRow]:
    """Every score in a context (a Spark quest), by line item then user."""

    def read(conn: Connection, version: int) -> list[GradeRow]:
        view = _view(conn.engine, version)
        r, li = view.results.c, view.line_items.c
        rows = conn.execute(
            select(r.line_item_id, li.label, r.user_id, r.score_given, r.score_maximum)
            .add_columns(r.grading_progress, r.timestamp)
            .select_from(
                view.results.outerjoin(
                    view.line_items, (li.tenant == r.tenant) & (li.line_item_id == r.line_item_id)
                )
            )
            .where(r.tenant == tenant, r.context_id == context_id)
            .order_by(r.line_item_id, r.user_id)
        ).all()
        return [GradeRow(*(row[0], row[1] or ""), *row[2:]) for row in rows]

    return read_live(engine, NAME, read, missing=[])


def wait_for(engine: Engine, position: int, timeout: float = 5.0) -> None:
    """Return once the gradebook has applied the `hub` log up to `position`."""
    status.wait_for(engine, NAME, position, timeout, upstream="hub")


def lti_readers(engine: Engine) -> tuple[MembersOf, ResultsOf]:
    """The read models the LTI platform serves NRPS and AGS results from, on `engine`."""

    def members(query: MembersQuery) -> list[Member]:
        return context_members(engine, query)

    def results(
        tenant: str, line_item_id: str, user_id: str | None, limit: int
    ) -> list[dict[str, Any]]:
        return results_of(engine, tenant, line_item_id, user_id, limit)

    return members, results
