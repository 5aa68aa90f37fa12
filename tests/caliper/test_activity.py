"""Page views and sign-outs in the hub's log: at most one view per person, page and minute,
one sign-out per session, and a view's record never breaks its page."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from hub.application import Hub
from hub.caliper.activity import (
    DASHBOARD,
    PORTFOLIO,
    PageView,
    RecentViews,
    page_view_id,
    record_sign_out,
    record_view,
)
from tests.caliper.world import BOX, TENANT, learner

AT = datetime(2025, 1, 15, 14, 35, 12, tzinfo=UTC)
LATER = datetime(2025, 1, 15, 14, 35, 59, tzinfo=UTC)
NEXT_MINUTE = datetime(2025, 1, 15, 14, 36, 0, tzinfo=UTC)


def test_views_of_one_page_in_one_minute_are_one_event(hub: Hub) -> None:
    hub.register_tenant(TENANT, "Acme", BOX)
    sam = learner(hub, "sam")

    async def views() -> list[bool]:
        recent, other_process = RecentViews(), RecentViews()
        common = {"tenant": TENANT, "viewer_id": sam, "page": DASHBOARD}
        return [
            await record_view(hub, **common, now=AT, recent=recent),
            await record_view(hub, **common, now=LATER, recent=recent),  # remembered
            await record_view(hub, **common, now=LATER, recent=other_process),  # conflicts
            await record_view(hub, **common, now=NEXT_MINUTE, recent=recent),
            await record_view(hub, **{**common, "page": PORTFOLIO}, now=AT, recent=recent),
        ]

    assert asyncio.run(views()) == [True, False, False, True, True]
    view: PageView = hub.repository.get(
        page_view_id(TENANT, sam, DASHBOARD, "", "", "2025-01-15T14:35Z")
    )
    assert view.version == 1


def test_a_view_that_cannot_be_recorded_is_logged_not_raised(hub: Hub) -> None:
    async def view() -> bool:
        return await record_view(hub, tenant="Not A Slug", viewer_id="x", page=DASHBOARD)

    assert asyncio.run(view()) is False


def test_a_session_signs_out_once(hub: Hub) -> None:
    async def twice() -> list[bool]:
        common = {"tenant": TENANT, "person_id": f"{TENANT}.Learner.{'a' * 32}", "issued_at": 1}
        return [await record_sign_out(hub, **common), await record_sign_out(hub, **common)]

    assert asyncio.run(twice()) == [True, False]


def test_remembered_views_are_bounded() -> None:
    recent = RecentViews(size=2)
    assert [recent.add(key) for key in ("a", "b", "a", "c", "a")] == [True, True, False, True, True]
