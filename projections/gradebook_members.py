"""Who is in a context, for NRPS: the portfolio's Spark enrolments (quests as contexts).

Reads the portfolio read model's live tables; the OneRoster roster projection may take
its place later (the platform only needs a `MembersOf` callable).
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Connection, Engine, select

from projections.portfolio_view import NAME as PORTFOLIO
from projections.portfolio_view import PortfolioView
from projections.schema import read_live
from schemas.lti import Member, MembersQuery


@lru_cache(maxsize=32)
def portfolio_view(engine: Engine, version: int) -> PortfolioView:
    return PortfolioView(engine, version)


def context_members(engine: Engine, query: MembersQuery) -> list[Member]:
    """Enrolled people of the query's quest, by id; its roles (hub roles) filter when given."""

    def read(conn: Connection, version: int) -> list[Member]:
        view = portfolio_view(conn.engine, version)
        e, lr = view.enrolments.c, view.learners.c
        found = (
            select(e.learner_id, lr.name, lr.email, lr.role)
            .select_from(
                view.enrolments.join(
                    view.learners, (lr.tenant == e.tenant) & (lr.learner_id == e.learner_id)
                )
            )
            .where(e.tenant == query.tenant, e.quest_id == query.quest_id)
        )
        if query.roles is not None:
            found = found.where(lr.role.in_(list(query.roles)))
        page = found.order_by(e.learner_id).offset(query.offset).limit(query.limit)
        rows = conn.execute(page).all()
        return [Member(row.learner_id, row.name, row.email, row.role) for row in rows]

    return read_live(engine, PORTFOLIO, read, missing=[])
