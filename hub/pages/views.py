"""Views of the pages, recorded for Caliper (`hub.caliper.activity`) after the response.

`record_after(response, request, session, page, ...)` gives the response a background
task: Starlette runs it once the body is sent, so the page is no slower. The task never
raises and commits at most one `PageView.Viewed` per person, page and minute.
"""

from __future__ import annotations

from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import Response

from hub.caliper.activity import record_view
from hub.http.deps import get_runtime
from hub.spark.sessions import Session


def record_after(
    response: Response,
    request: Request,
    session: Session,
    page: str,
    *,
    owner_id: str = "",
    quest_id: str = "",
    title: str = "",
) -> Response:
    response.background = BackgroundTask(
        record_view,
        get_runtime(request).hub,
        tenant=session.tenant,
        viewer_id=session.person_id,
        page=page,
        owner_id=owner_id,
        quest_id=quest_id,
        title=title,
    )
    return response
