"""The hub as platform, driven end to end by a tool built with pylti1p3: login, launch,
AGS line items and scores, NRPS memberships."""

from __future__ import annotations

import httpx
from eventsourcing.utils import get_topic
from pylti1p3.grade import Grade
from sqlalchemy import Engine

from hub.domain.lti_platform import LtiLaunch
from projections.gradebook import wait_for
from schemas.lti import INSTRUCTOR, LEARNER
from tests.lti.platform.world import ASSIGNMENT, World, form_fields


def test_a_pylti1p3_tool_validates_the_hubs_launch(world: World) -> None:
    launch = world.launch("s1")
    data = launch.get_launch_data()
    assert launch.is_resource_launch()
    assert data["sub"] == world.people["s1"]
    assert data["email"] == "s1@school.example"
    assert data["https://purl.imsglobal.org/spec/lti/claim/context"]["id"] == world.context_id
    assert data["https://purl.imsglobal.org/spec/lti/claim/custom"] == {"quiz": "7"}
    assert data["https://purl.imsglobal.org/spec/lti/claim/roles"] == [LEARNER]
    assert launch.has_ags()
    assert launch.has_nrps()


def test_the_tool_posts_a_score_through_ags(world: World, projections: Engine) -> None:
    launch = world.launch("s2")
    ags = launch.get_ags()
    grade = (
        Grade()
        .set_score_given(15)
        .set_score_maximum(20)
        .set_timestamp("2026-11-22T01:00:00+00:00")
        .set_activity_progress("Completed")
        .set_grading_progress("FullyGraded")
        .set_user_id(world.people["s2"])
    )
    response = ags.put_grade(grade)
    assert response["body"]["changed"] is True
    items = ags.get_lineitems()
    assert [(i["label"], i["scoreMaximum"], i["resourceId"]) for i in items] == [
        ("Homework 7", 20, ASSIGNMENT)
    ]
    wait_for(projections, response["body"]["position"], timeout=30)
    results = ags.get_grades(ags.find_lineitem_by_resource_id(ASSIGNMENT))
    assert [(r["userId"], r["resultScore"], r["resultMaximum"]) for r in results] == [
        (world.people["s2"], 15.0, 20.0)
    ]


def test_the_tool_reads_the_context_members_through_nrps(world: World) -> None:
    launch = world.launch("t1", role="teacher")
    members = launch.get_nrps().get_members()
    by_user = {m["user_id"]: m for m in members}
    assert set(by_user) == set(world.people.values())
    assert by_user[world.people["t1"]]["roles"] == [INSTRUCTOR]
    assert by_user[world.people["s1"]]["roles"] == [LEARNER]
    assert by_user[world.people["s1"]]["name"] == "Ada Lovelace"


def test_each_accepted_launch_is_one_event_with_its_verdict(world: World) -> None:
    recorder = world.runtime.hub.recorder
    topic = get_topic(LtiLaunch.Accepted)
    before = recorder.max_notification_id() or 0
    launch = world.launch("s3")
    after = recorder.select_notifications(start=before + 1, limit=100)
    assert [n.topic for n in after] == [topic]
    accepted = world.runtime.hub.mapper.to_domain_event(after[0])
    assert isinstance(accepted, LtiLaunch.Accepted)
    assert (accepted.user_id, accepted.client_id, accepted.link_id) == (
        world.people["s3"],
        world.client_id,
        world.link_id,
    )
    assert accepted.claims["nonce"] == launch.get_launch_data()["nonce"]
    assert accepted.context["source"] == "lti"
    assert accepted.context["verified_by"] == "oidc-form-post"


def test_the_authorization_request_may_come_as_a_form_post(world: World) -> None:
    login = world.start(f"/t/{world.tenant}/lti/launch/{world.link_id}", "s2")
    url = httpx.URL(world.tool.login(login))
    response = world.client.post(
        url.copy_with(query=None),
        data=dict(url.params),
        headers={"Cookie": world.cookie("s2")},
    )
    assert response.status_code == 200, response.text
    launch = world.tool.launch(form_fields(response.text))
    assert launch.get_launch_data()["sub"] == world.people["s2"]
