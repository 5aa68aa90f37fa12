"""What people do on the hub's pages, as events Caliper maps: page views and sign-outs.

    PageView    Viewed      one person's views of one page in one minute: the id is uuid5
                            over (tenant, viewer, page, whose, course, minute), so a reload
                            within the minute conflicts and is dropped, and the hub's log
                            grows by at most one event per person, page and minute
    WebSession  SignedOut   the end of one signed-in session (its id: person and sign-in time)

A page records its view after its response is sent (`record_view`: a Starlette background
task that never raises), so the page is no slower; a process also remembers the views it
recorded in the last minutes, and does not commit those again.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from uuid import uuid4

import structlog
from eventsourcing.domain import event
from eventsourcing.persistence import IntegrityError

from hub.application import Hub
from hub.domain.base import EventContext, HubAggregate, aggregate_id, event_context

DASHBOARD, PORTFOLIO = "dashboard", "portfolio"
PAGES = (DASHBOARD, PORTFOLIO)
REMEMBERED = 4096  # view ids one process keeps, to skip a commit that would conflict
log = structlog.get_logger(__name__)


def minute_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def page_view_id(  # noqa: PLR0917 - the natural key has six parts
    tenant: str, viewer_id: str, page: str, owner_id: str, quest_id: str, minute: str
) -> str:
    return aggregate_id(tenant, "PageView", viewer_id, page, owner_id, quest_id, minute)


def web_session_id(tenant: str, person_id: str, issued_at: int) -> str:
    """A signed-in session: the person and when the cookie was issued."""
    return aggregate_id(tenant, "WebSession", person_id, str(issued_at))


class PageView(HubAggregate):
    """`viewer_id` saw `page` (the dashboard, or `owner_id`'s portfolio), in `quest_id`'s
    view of the dashboard when it names one, during `minute`."""

    @staticmethod
    def create_id(  # noqa: PLR0917 - the natural key
        tenant: str,
        viewer_id: str,
        page: str,
        owner_id: str,
        quest_id: str,
        minute: str,
        **_: object,
    ) -> str:
        return page_view_id(tenant, viewer_id, page, owner_id, quest_id, minute)

    @event("Viewed")
    def __init__(  # noqa: PLR0917 - the event's fields
        self,
        tenant: str,
        viewer_id: str,
        page: str,
        owner_id: str,
        quest_id: str,
        minute: str,
        title: str,
    ) -> None:
        self.viewer_id = viewer_id
        self.page = page


class WebSession(HubAggregate):
    """A signed-in session that ended: one sign-out per session cookie."""

    @staticmethod
    def create_id(tenant: str, person_id: str, issued_at: int, **_: object) -> str:
        return web_session_id(tenant, person_id, issued_at)

    @event("SignedOut")
    def __init__(self, tenant: str, person_id: str, issued_at: int) -> None:
        self.person_id = person_id


class RecentViews:
    """The page views this process recorded lately (a bounded, insertion-ordered set)."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, view_id: str) -> bool:
        """Remember `view_id`; False if it was already remembered."""
        if view_id in self._ids:
            return False
        self._ids[view_id] = None
        while len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True


RECENT = RecentViews()


def _context(source: str) -> EventContext:
    new_id = uuid4().hex
    return EventContext(correlation_id=new_id, causation_id=new_id, source=source)


async def record_view(
    hub: Hub,
    *,
    tenant: str,
    viewer_id: str,
    page: str,
    owner_id: str = "",
    quest_id: str = "",
    title: str = "",
    now: datetime | None = None,
    recent: RecentViews = RECENT,
) -> bool:
    """Record one view (True), or nothing if it is already on record this minute (False).

    Runs after the response: it never raises (a failure is logged), so a page is never
    broken by its own record.
    """
    minute = minute_of(now or datetime.now(UTC))
    try:
        view_id = page_view_id(tenant, viewer_id, page, owner_id, quest_id, minute)
        if not recent.add(view_id):
            return False
        with event_context(_context("pages")):
            view = PageView(tenant, viewer_id, page, owner_id, quest_id, minute, title)
        await hub.save_async(view)
    except IntegrityError:  # another process recorded it this minute
        return False
    except Exception:  # after the response: log, never raise
        log.warning("pages.view_not_recorded", tenant_id=tenant, page=page, exc_info=True)
        return False
    return True


async def record_sign_out(hub: Hub, *, tenant: str, person_id: str, issued_at: int) -> bool:
    """Record the end of a session (True), or nothing if it was already signed out."""
    with event_context(_context("pages")):
        signed_out = WebSession(tenant, person_id, issued_at)
    try:
        await hub.save_async(signed_out)
    except IntegrityError:
        return False
    return True
