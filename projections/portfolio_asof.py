"""A portfolio as it stood at a moment: the learner's events up to then, replayed from the log.

The events that make one learner's portfolio are few and known by aggregate: the
learner's own (`hub`), their `Progress` (`progress`), and the quests and tasks those
name (`hub`). Each aggregate's events up to `until` (by their `timestamp`) are read
with one ordered read each, then the portfolio projection's own handlers apply them to
the same tables in an in-memory SQLite database, and the live reader reads them back:
the answer is exactly what the live read model showed then.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing
from datetime import datetime
from typing import Any

from eventsourcing.application import Application
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from hub.domain.base import aggregate_id, tenant_of
from projections.portfolio import HANDLERS, Portfolio, read_portfolio
from projections.portfolio_view import PortfolioView
from projections.upstreams import open_reader


def progress_id(tenant: str, learner_id: str) -> str:
    """The progress connector's `Progress` aggregate of a learner (as `connectors.domain`
    derives it; a test holds the two together)."""
    return aggregate_id(tenant, "Progress", learner_id)


def _until(app: Application[Any], originator_id: str, until: datetime) -> Iterator[Any]:
    events: Iterable[Any] = app.repository.event_store.get(originator_id)
    for event in events:
        if event.timestamp > until:
            return  # an aggregate's events are recorded in time order
        yield event


def learner_events(
    hub: Application[Any], progress: Application[Any], learner_id: str, until: datetime
) -> list[Any]:
    """Every event up to `until` that the portfolio of `learner_id` is made of, in time order."""
    tenant = tenant_of(learner_id)
    own = list(_until(hub, learner_id, until))
    done = list(_until(progress, progress_id(tenant, learner_id), until))
    quests = {getattr(event, "quest_id", "") for event in (*own, *done)} - {""}
    tasks = {getattr(event, "task_id", "") for event in done} - {""}
    named = [event for ref in sorted(quests | tasks) for event in _until(hub, ref, until)]
    return sorted((*own, *done, *named), key=lambda event: event.timestamp)


def replay(events: Iterable[Any], tenant: str, learner_id: str) -> Portfolio | None:
    """`events` applied by the portfolio's handlers to a fresh in-memory view, read back."""
    engine = create_engine("sqlite://", poolclass=StaticPool)
    try:
        view = PortfolioView(engine)
        view.metadata.create_all(engine)
        with engine.begin() as conn:
            for event in events:
                handler = HANDLERS.get(type(event).__qualname__)
                if handler is not None:
                    handler(view, conn, event)
            return read_portfolio(conn, view, tenant, learner_id)
    finally:
        engine.dispose()


def portfolio_as_of(
    env: Mapping[str, str], tenant: str, learner_id: str, until: datetime
) -> Portfolio | None:
    """The portfolio of `learner_id` in `tenant` as it stood at `until` (None: nothing yet)."""
    if tenant_of(learner_id) != tenant:
        return None
    with closing(open_reader("hub", env)) as hub, closing(open_reader("progress", env)) as progress:
        events = learner_events(hub, progress, learner_id, until)
    return replay(events, tenant, learner_id)
