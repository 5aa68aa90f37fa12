"""The readers the pages use, bound to one read-model engine and the hub's log (`PageReaders`).

The composition root (`hub serve`, `hub run`) passes `page_readers` to `build_http_app`,
so that `hub` imports no projection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from hub.pages.readers import Access, PageReaders
from projections import family
from projections.badges import badge_progress
from projections.portfolio import learners_page, portfolio
from projections.portfolio_asof import portfolio_as_of


def page_readers(engine: Engine, env: Mapping[str, str]) -> PageReaders:
    """The portfolio (live, and as of a moment), badge progress and the family's readers."""
    frozen = dict(env)

    def live(tenant: str, learner_id: str) -> Any:
        return portfolio(engine, tenant, learner_id)

    def as_of(tenant: str, learner_id: str, until: datetime) -> Any:
        return portfolio_as_of(frozen, tenant, learner_id, until)

    def badges(tenant: str, learner_id: str) -> Sequence[Any]:
        return badge_progress(engine, tenant, learner_id)

    def access(tenant: str, viewer_id: str, role: str, learner_id: str) -> Access:
        return family.access(engine, tenant, viewer_id, role, learner_id)

    def parent_view(tenant: str, parent_id: str) -> Any:
        return family.parent_view(engine, tenant, parent_id)

    def observer_view(tenant: str, observer_id: str) -> Any:
        return family.observer_view(engine, tenant, observer_id)

    def comments_on(tenant: str, learner_id: str) -> Any:
        return family.comments_on(engine, tenant, learner_id)

    def learners(tenant: str, after: str | None, limit: int) -> Sequence[Any]:
        return learners_page(engine, tenant, after, limit)

    return PageReaders(
        learners=learners,
        portfolio=live,
        portfolio_as_of=as_of,
        badge_progress=badges,
        access=access,
        parent_view=parent_view,
        observer_view=observer_view,
        comments_on=comments_on,
    )
