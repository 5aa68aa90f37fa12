"""The readers the pages use, bound to one read-model engine and the hub's log (`PageReaders`).

The composition root (`hub serve`, `hub run`) passes `page_readers` to `build_http_app`,
so that `hub` imports no projection.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from hub.pages.readers import PageReaders
from projections.portfolio import portfolio
from projections.portfolio_asof import portfolio_as_of


def page_readers(engine: Engine, env: Mapping[str, str]) -> PageReaders:
    """The portfolio (live, and as of a moment) and the other read models' readers."""
    frozen = dict(env)

    def live(tenant: str, learner_id: str) -> Any:
        return portfolio(engine, tenant, learner_id)

    def as_of(tenant: str, learner_id: str, until: datetime) -> Any:
        return portfolio_as_of(frozen, tenant, learner_id, until)

    return PageReaders(portfolio=live, portfolio_as_of=as_of)
