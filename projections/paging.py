"""Applying a page of events at once: the same rows as one event at a time, in a few statements.

A rebuild reads a page (1,000 events) and applies it in one transaction; applied one by
one, each event costs a few SQL statements (~0.1-0.3 ms each through SQLAlchemy), and a
million events take an hour. A `PagedProjection` names its handlers by event class
`__qualname__`, as before, and adds `Bulk`s: for the kinds that are most of the log
(registrations, enrolments, completions), events are gathered and written together with
`executemany`. A bulk is flushed before any event that is not its own kind is applied, so
a page gives exactly the rows that applying its events in order gives, provided that the
bulks of one projection commute with each other (a registration and an enrolment do;
`tests/projections/test_paging.py` checks pages of every size against one by one).
A subclass that overrides `process_event` is applied one event at a time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeGuard, TypeVar

from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Tracking
from eventsourcing.projection import Projection
from sqlalchemy import Connection

from projections.decoding import EventDecoder
from projections.view import SqlView

V = TypeVar("V", bound=SqlView)
Item = tuple[Any, Tracking]


class Bulk(ABC, Generic[V]):
    """Events of `kinds`, gathered during a page and written together by `flush`."""

    kinds: ClassVar[frozenset[str]]

    def __init__(self, view: V) -> None:
        self.view = view
        self.events: list[Any] = []

    def add(self, event: Any) -> None:
        self.events.append(event)

    def flush(self, conn: Connection) -> None:
        if self.events:
            self.write(conn, self.events)
            self.events = []

    @abstractmethod
    def write(self, conn: Connection, events: Sequence[Any]) -> None:
        """Make the changes the events make one by one, in their order."""


class PagedProjection(Projection[V], ABC):
    """A projection whose events are handled one at a time (`process_event`) or a page at a
    time (`process_page`, with its `bulks`) to the same effect."""

    handlers: ClassVar[Mapping[str, Callable[[Any, Connection, Any], None]]]
    bulk_classes: ClassVar[Sequence[type[Bulk[Any]]]] = ()

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        handler = self.handlers.get(type(domain_event).__qualname__)
        with self.view.changing(tracking) as conn:
            if handler is not None:
                handler(self.view, conn, domain_event)

    def handles(self, topic: str) -> bool:
        """Whether events of `topic` change rows (the others only move the position)."""
        return topic.rpartition(":")[2] in self.handlers

    def process_page(self, items: Sequence[Item], through: Tracking | None = None) -> None:
        """Apply `items` (in log order per upstream) in the view's open batch; the position
        moves to each upstream's last item, and to `through` (a page's last notification,
        which may be one this projection does not handle)."""
        last: dict[str, Tracking] = {}
        for _, tracking in items:
            last[tracking.application_name] = tracking
        if through is not None:
            last[through.application_name] = through
        if not last:
            return
        *others, final = last.values()
        for tracking in others:
            with self.view.changing(tracking):
                pass
        bulks = [bulk_class(self.view) for bulk_class in self.bulk_classes]
        by_kind = {kind: bulk for bulk in bulks for kind in bulk.kinds}
        with self.view.changing(final) as conn:
            gathering: list[Bulk[Any]] = []
            for event, _ in items:
                kind = type(event).__qualname__
                bulk = by_kind.get(kind)
                if bulk is not None:
                    bulk.add(event)
                    if bulk not in gathering:
                        gathering.append(bulk)
                    continue
                handler = self.handlers.get(kind)
                if handler is not None:
                    _flush(gathering, conn)
                    handler(self.view, conn, event)
            _flush(gathering, conn)


def _flush(gathering: list[Bulk[Any]], conn: Connection) -> None:
    for bulk in gathering:
        bulk.flush(conn)
    gathering.clear()


def apply_page(
    projection: Projection[Any], items: Sequence[Item], *, through: Tracking | None = None
) -> None:
    """`items` applied in the view's open batch: a page at a time when the projection can.

    `through`: the page's last notification, when `items` leave out what the projection
    does not handle (`decoded`); its position is recorded too.
    """
    if _paged(projection):
        projection.process_page(items, through)
        return
    for domain_event, tracking in items:
        projection.process_event(domain_event, tracking)


def _paged(projection: Projection[Any]) -> TypeGuard[PagedProjection[Any]]:
    """A page at a time, unless a subclass changed what one event does (then it is heard)."""
    return (
        isinstance(projection, PagedProjection)
        and type(projection).process_event is PagedProjection.process_event
    )


def decoded(
    projection: Projection[Any], app: Application[Any], notifications: Sequence[Notification]
) -> list[Item]:
    """The page's domain events, with their tracking; a `PagedProjection` gets only those it
    handles (decoding is most of a rebuild's cost per event, and the others change nothing)."""
    return decoded_for([projection], [0], app, notifications)[0]


def decoded_for(
    projections: Sequence[Projection[Any]],
    positions: Sequence[int],
    app: Application[Any],
    notifications: Sequence[Notification],
) -> list[list[Item]]:
    """`decoded` for several projections, each event decoded once (and shared: handlers
    only read events): for each projection, the items after its position in `app`'s log."""
    wanted = [_handles(projection) for projection in projections]
    decode = EventDecoder(app.mapper)
    name = app.name
    found: list[list[Item]] = [[] for _ in projections]
    for notification in notifications:
        item: Item | None = None
        for items, handles, position in zip(found, wanted, positions, strict=True):
            if notification.id > position and (handles is None or handles(notification.topic)):
                if item is None:
                    item = (decode(notification), Tracking(name, notification.id))
                items.append(item)
    return found


def _handles(projection: Projection[Any]) -> Callable[[str], bool] | None:
    """What topics the projection needs decoded (None: every one)."""
    return projection.handles if _paged(projection) else None
