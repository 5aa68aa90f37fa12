"""AGS 2.0 on the hub as platform: line items (CRUD, filters, media types) and scores."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from hub.domain.lti_platform import result_id
from hub.lti.platform import ags
from hub.lti.platform.reads import RecentReads
from hub.lti.platform.registrations import ToolContext
from projections.gradebook import context_gradebook, wait_for
from schemas.lti import (
    LINEITEM_CONTAINER_MEDIA,
    LINEITEM_MEDIA,
    RESULT_CONTAINER_MEDIA,
    SCORE_MEDIA,
    ScoreIn,
)
from tests.lti.platform.oauth import access_token, bearer
from tests.lti.platform.world import World


@pytest.fixture(scope="module")
def token(world: World) -> str:
    return access_token(world)


def items_url(world: World) -> str:
    return f"/t/{world.tenant}/api/lti/ags/contexts/{world.context_id}/lineitems"


def create(world: World, token: str, **item: Any) -> dict[str, Any]:
    response = world.client.post(
        items_url(world),
        headers={**bearer(token), "Content-Type": LINEITEM_MEDIA},
        json={"label": "Quiz", "scoreMaximum": 10, **item},
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == LINEITEM_MEDIA
    body: dict[str, Any] = response.json()
    assert response.headers["location"] == body["id"]
    return body


def post_score(world: World, token: str, line_item: str, **score: Any) -> httpx.Response:
    body = {
        "userId": world.people["s3"],
        "scoreGiven": 7,
        "scoreMaximum": 10,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": "2026-11-22T01:00:00Z",
        **score,
    }
    return world.client.post(
        line_item + "/scores", headers={**bearer(token), "Content-Type": SCORE_MEDIA}, json=body
    )


def test_line_items_are_created_read_filtered_updated_and_deleted(world: World, token: str) -> None:
    tagged = create(world, token, label="Lab 1", tag="lab", resourceId="lab-1")
    create(world, token, label="Lab 2", tag="lab", resourceId="lab-2")
    listed = world.client.get(items_url(world), headers=bearer(token), params={"tag": "lab"})
    assert listed.headers["content-type"] == LINEITEM_CONTAINER_MEDIA
    assert sorted(i["label"] for i in listed.json()) == ["Lab 1", "Lab 2"]
    by_resource = world.client.get(
        items_url(world), headers=bearer(token), params={"resource_id": "lab-1"}
    ).json()
    assert [i["id"] for i in by_resource] == [tagged["id"]]
    by_link = world.client.get(
        items_url(world), headers=bearer(token), params={"resource_link_id": world.link_id}
    ).json()
    assert [i["label"] for i in by_link] == ["Homework 7"]  # the link's own line item
    read = world.client.get(tagged["id"], headers=bearer(token))
    assert read.json() == tagged
    updated = world.client.put(
        tagged["id"],
        headers={**bearer(token), "Content-Type": LINEITEM_MEDIA},
        json={"label": "Lab 1 (revised)", "scoreMaximum": 12, "tag": "lab"},
    )
    assert updated.json()["label"] == "Lab 1 (revised)"
    assert world.client.delete(tagged["id"], headers=bearer(token)).status_code == 204
    gone = world.client.get(tagged["id"], headers=bearer(token))
    assert (gone.status_code, gone.json()["reason"]) == (404, "line_item_unknown")


def test_a_score_needs_the_score_media_type(world: World, token: str) -> None:
    item = create(world, token)
    response = world.client.post(
        item["id"] + "/scores",
        headers={**bearer(token), "Content-Type": "application/json"},
        json={"userId": world.people["s3"]},
    )
    assert (response.status_code, response.json()["reason"]) == (415, "media_type")


def test_a_score_without_its_maximum_or_for_a_stranger_is_refused(world: World, token: str) -> None:
    item = create(world, token)
    missing = post_score(world, token, item["id"], scoreMaximum=None)
    assert (missing.status_code, missing.json()["reason"]) == (400, "body_invalid")
    stranger = post_score(world, token, item["id"], userId="beta.Learner.0000")
    assert (stranger.status_code, stranger.json()["reason"]) == (400, "body_invalid")


def test_an_older_or_equal_timestamp_changes_nothing(
    world: World, token: str, projections: Engine
) -> None:
    item = create(world, token, label="Timed quiz")
    first = post_score(world, token, item["id"], scoreGiven=4, timestamp="2026-11-22T01:00:00Z")
    assert first.json()["changed"] is True
    head = world.runtime.hub.recorder.max_notification_id()
    same = post_score(world, token, item["id"], scoreGiven=9, timestamp="2026-11-22T01:00:00Z")
    older = post_score(world, token, item["id"], scoreGiven=9, timestamp="2026-11-22T00:59:59Z")
    assert [r.json() for r in (same, older)] == [{"changed": False, "position": None}] * 2
    assert world.runtime.hub.recorder.max_notification_id() == head
    newer = post_score(world, token, item["id"], scoreGiven=8, timestamp="2026-11-22T01:00:01Z")
    assert newer.json()["changed"] is True
    wait_for(projections, newer.json()["position"], timeout=30)
    results = world.client.get(item["id"] + "/results", headers=bearer(token))
    assert results.headers["content-type"] == RESULT_CONTAINER_MEDIA
    assert [(r["userId"], r["resultScore"]) for r in results.json()] == [(world.people["s3"], 8.0)]
    line_item_id = item["id"].rsplit("/", 1)[1]
    grades = context_gradebook(projections, world.tenant, world.context_id)
    assert [(g.label, g.score_given) for g in grades if g.line_item_id == line_item_id] == [
        ("Timed quiz", 8.0)
    ]


def test_a_context_where_the_tool_has_no_link_is_not_found(world: World, token: str) -> None:
    other = f"/t/{world.tenant}/api/lti/ags/contexts/{'0' * 32}/lineitems"
    response = world.client.get(other, headers=bearer(token))
    assert (response.status_code, response.json()["reason"]) == (404, "context_unknown")


def test_a_score_written_meanwhile_by_another_process_is_read_again(
    world: World, token: str
) -> None:
    item = create(world, token, label="Two writers")
    line_item_id, user = item["id"].rsplit("/", 1)[1], world.people["s1"]
    at = ToolContext(world.tenant, world.client_id, world.context_id)

    def stamp(second: int) -> str:
        return f"2026-11-22T01:00:{second:02d}Z"

    assert post_score(world, token, item["id"], userId=user, timestamp=stamp(10)).json()["changed"]
    # Another process (its own reads) records a newer score: this app still remembers v1.
    there = RecentReads(world.runtime.hub)
    body = ScoreIn.model_validate(
        {
            "userId": user,
            "scoreGiven": 3,
            "scoreMaximum": 10,
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
            "timestamp": stamp(30),
        }
    )
    newer = ags.scored_result(there, at, line_item_id, body, fresh=True)
    assert newer is not None
    world.runtime.hub.save(newer)
    # Its commit conflicts, the result is read again: 30 is newer than 20, nothing changes.
    older = post_score(world, token, item["id"], userId=user, timestamp=stamp(20))
    assert older.json() == {"changed": False, "position": None}
    latest = post_score(world, token, item["id"], userId=user, scoreGiven=9, timestamp=stamp(40))
    assert latest.json()["changed"]
    result = world.runtime.hub.repository.get(result_id(world.tenant, line_item_id, user))
    assert (result.version, result.score["scoreGiven"]) == (3, 9)
    events = list(world.runtime.hub.repository.event_store.get(result.id))
    assert [type(e).__qualname__ for e in events] == [
        "LtiResult.ScorePosted",
        "LtiResult.ScoreUpdated",
        "LtiResult.ScoreUpdated",
    ]
    assert (events[-1].context["source"], events[-1].context["verified_by"]) == ("lti", "bearer")
