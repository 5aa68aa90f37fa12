"""Who is in a context, for NRPS: the portfolio's Spark enrolments (quests as contexts).

Reads the portfolio read model's live tables; the OneRoster roster projection may take
its place later (the platform only needs a `MembersOf` callable). The queries are built
once per view version with bound parameters: building a statement per page cost more
than running it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, Integer, String, bindparam, select

from projections.portfolio_view import NAME as PORTFOLIO
from projections.portfolio_view import PortfolioView
from projections.schema import read_live
from schemas.lti import Member, MembersQuery


@lru_cache(maxsize=32)
def portfolio_view(engine: Engine, version: int) -> PortfolioView:
    return PortfolioView(engine, version)


@lru_cache(maxsize=32)
def _page_query(view: PortfolioView, *, by_role: bool) -> Any:
    """A page of a quest's enrolled people, by id; `by_role` adds the roles filter."""
    e, lr = view.enrolments.c, view.learners.c
    query = (
        select(e.learner_id, lr.name, lr.email, lr.role)
        .select_from(
            view.enrolments.join(
                view.learners, (lr.tenant == e.tenant) & (lr.learner_id == e.learner_id)
            )
        )
        .where(
            e.tenant == bindparam("tenant", type_=String),
            e.quest_id == bindparam("quest_id", type_=String),
        )
    )
    if by_role:
        query = query.where(lr.role.in_(bindparam("roles", expanding=True)))
    return (
        query.order_by(e.learner_id)
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )


def context_members(engine: Engine, query: MembersQuery) -> list[Member]:
    """Enrolled people of the query's quest, by id; its roles (hub roles) filter when given."""
    values: dict[str, Any] = {
        "tenant": query.tenant,
        "quest_id": query.quest_id,
        "offset": query.offset,
        "limit": query.limit,
    }
    if query.roles is not None:
        values["roles"] = list(query.roles)

    def read(conn: Connection, version: int) -> list[Member]:
        page = _page_query(portfolio_view(conn.engine, version), by_role=query.roles is not None)
        rows = conn.execute(page, values).all()
        return [Member(row.learner_id, row.name, row.email, row.role) for row in rows]

    return read_live(engine, PORTFOLIO, read, missing=[])
