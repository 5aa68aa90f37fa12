"""Opening the live read model, and catching it up with the log one page per transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Tracking
from eventsourcing.projection import Projection
from sqlalchemy import Connection, Engine

from infra.sql import writing
from projections import schema
from projections.paging import apply_page, decoded, decoded_for
from projections.view import SqlView

if TYPE_CHECKING:
    from projections.registry import ProjectionSpec

PAGE_SIZE = 1000
WINDOW_PAGES = 10
"""A backlog is read ten pages at a time (see `_backlog`)."""
AfterPage = Callable[[int], None]
"""Called with the position reached after each committed page."""


def open_live_view(spec: ProjectionSpec, engine: Engine) -> SqlView:
    """The view of the live version; on the projection's first run, version 1, made empty."""
    schema.create_shared_tables(engine)
    with engine.connect() as conn:
        found = schema.read_versions(conn, spec.name)
    if found is not None:
        # A live version's tables exist (a rebuild makes them before switching); making
        # them here could bring back a version a rebuild has just dropped.
        return spec.view_class(engine, found.live)
    view = spec.view_class(engine, 1)
    view.create_tables()
    with writing(engine) as conn:
        schema.register(conn, spec.name, 1)
    return view


def catch_up(
    projection: Projection[Any],
    app: Application[Any],
    *,
    page_size: int = PAGE_SIZE,
    conn: Connection | None = None,
    stop: threading.Event | None = None,
    after_page: AfterPage | None = None,
) -> int:
    """Apply every event after the view's position up to the head; the position reached.

    Each page of notifications (`page_size` at a time) is applied in one transaction with
    its tracking position (`apply_page`: at once, for a `PagedProjection`), so a crash
    loses at most the page under way, and that page is applied again, from the last
    committed position. With `conn`, pages join the caller's transaction instead.

    A backlog of more than a page (a rebuild, a runner that was stopped) is read from the
    upstream's `subscribe()` up to the head seen when starting: on JetStream an ordered
    consumer, several times faster than pages of `select_notifications` (Direct Get
    replies that the client parses one by one). What was recorded meanwhile is read in
    pages after it.
    """
    view: SqlView = projection.view
    if conn is None:
        position = view.max_tracking_id(app.name) or 0
    else:
        position = schema.position(conn, view.projection_name, view.version, app.name) or 0

    def apply(notifications: Sequence[Notification]) -> int:
        through = Tracking(app.name, notifications[-1].id)
        items = decoded(projection, app, notifications)
        with view.batch(conn):
            apply_page(projection, items, through=through)
        if after_page is not None:
            after_page(through.notification_id)
        return through.notification_id

    for page in _backlog(app, position, page_size, projection.topics, stop):
        position = apply(page)
    while stop is None or not stop.is_set():
        notifications = app.recorder.select_notifications(
            start=position + 1, limit=page_size, topics=projection.topics
        )
        if not notifications:
            break
        position = apply(notifications)
        if len(notifications) < page_size:
            break
    return position


def _backlog(
    app: Application[Any],
    position: int,
    page_size: int,
    topics: Sequence[str],
    stop: threading.Event | None,
) -> Iterator[list[Notification]]:
    """Pages of the notifications after `position` up to the head, from subscriptions;
    nothing when the backlog is a page or less (or topics filter it: then the head's own
    notification may never come).

    Memory stays bounded: a subscription delivers as fast as the server sends, whatever
    the pages cost to apply, so each one is read for a window of `WINDOW_PAGES` pages
    and stopped before they are applied; the next starts after the window.
    """
    last = app.recorder.max_notification_id() or 0
    if topics or last - position <= page_size:
        return
    while position < last:
        window: list[Notification] = []
        subscription = app.recorder.subscribe(gt=position)
        try:
            for notification in subscription:
                window.append(notification)
                if notification.id >= last or len(window) >= WINDOW_PAGES * page_size:
                    break
        finally:
            subscription.stop()
        for start in range(0, len(window), page_size):
            yield window[start : start + page_size]
            if stop is not None and stop.is_set():
                return
        position = window[-1].id


def catch_up_together(
    projections: Sequence[Projection[Any]],
    app: Application[Any],
    *,
    page_size: int = PAGE_SIZE,
    after_page: AfterPage | None = None,
) -> None:
    """`catch_up` of several projections with `app`'s backlog, read and decoded once.

    Each projection applies a page in its own transaction, from its own position (a
    resumed rebuild may have gone further in one than in another). Only the backlog
    (`_backlog`): what was recorded meanwhile is for each projection's `catch_up`.
    Projections that read by topics are left to `catch_up`.
    """
    projections = [projection for projection in projections if not projection.topics]
    positions = [projection.view.max_tracking_id(app.name) or 0 for projection in projections]
    if not projections:
        return
    for page in _backlog(app, min(positions), page_size, (), None):
        through = page[-1].id
        found = decoded_for(projections, positions, app, page)
        for n, (projection, items) in enumerate(zip(projections, found, strict=True)):
            if through > positions[n]:
                with projection.view.batch():
                    apply_page(projection, items, through=Tracking(app.name, through))
                positions[n] = through
        if after_page is not None:
            after_page(through)


def catch_up_all(
    projection: Projection[Any],
    apps: Sequence[Application[Any]],
    *,
    page_size: int = PAGE_SIZE,
    conn: Connection | None = None,
    stop: threading.Event | None = None,
    after_page: AfterPage | None = None,
) -> dict[str, int]:
    """`catch_up` with each upstream in turn; the position reached in each, by name.

    Upstreams are applied one after the other, not interleaved: a projection that
    follows several must give the same rows whatever the interleaving (the live runner
    applies them as they arrive), which a rebuild's tests check.
    """
    reached = {}
    for app in apps:
        if stop is not None and stop.is_set():
            break
        reached[app.name] = catch_up(
            projection, app, page_size=page_size, conn=conn, stop=stop, after_page=after_page
        )
    return reached
