"""Caliper from the hub as an LTI tool, on real launches: a platform of the tests' own
launches the hub, the learner opens the course's dashboard and signs out; the `caliper`
emitter turns each recorded event into validated envelopes on the Caliper stream."""

from __future__ import annotations

import httpx

from connectors.caliper_stream import CaliperStream
from hub.bootstrap import Runtime
from hub.caliper.activity import web_session_id
from hub.caliper.iris import hex_of
from hub.domain.quests import Quest, Task
from schemas.caliper_rules import validate_envelope
from tests.caliper.streamed import events_after, head
from tests.lti.tool.conftest import launch
from tests.lti.tool.platform_server import LTI, Platform, user
from tests.lti.tool.test_launch import session_of


def task_launch(
    client: httpx.Client, platform: Platform, sub: str, task: str, tenant: str = "acme"
) -> httpx.Response:
    platform.next_launch = {
        LTI + "resource_link": {"id": f"rl-{sub}", "title": "Essay"},
        LTI + "custom": {"hub_task": task},
    }
    try:
        response = launch(client, platform, sub, tenant)
    finally:
        platform.next_launch = {}
    assert response.status_code == 303, response.text
    return response


def spark_task(runtime: Runtime, tenant: str) -> str:
    quest = Quest(tenant, "spark", "c-bio", {"title": "Biology"})
    task = Task(tenant, "spark", "a-essay", quest.id, {"title": "Essay", "max_points": 20})
    runtime.hub.save(quest, task)
    return str(task.id)


def cookie_of(response: httpx.Response) -> dict[str, str]:
    return {"Cookie": response.headers["set-cookie"].split(";", 1)[0]}


def test_a_launch_of_a_task_is_a_tool_launch_a_sign_in_and_the_start_of_the_assignment(
    client: httpx.Client, platform: Platform, runtime: Runtime, stream: CaliperStream
) -> None:
    task = spark_task(runtime, "acme")
    user(platform, "u-cal", name="Ada Lovelace", email="ada@school.example")
    start = head(stream)

    response = task_launch(client, platform, "u-cal", task)

    envelopes = events_after(stream, start, 3, tenant="acme")
    for envelope in envelopes:
        validate_envelope(envelope)
    launched, logged_in, started = (e["data"][0] for e in envelopes)
    assert [(e["type"], e["action"]) for e in (launched, logged_in, started)] == [
        ("ToolLaunchEvent", "Launched"),
        ("SessionEvent", "LoggedIn"),
        ("AssignableEvent", "Started"),
    ]
    learner = session_of(runtime, response).learner_id
    person = f"urn:hub:acme:person:{hex_of(learner)}"
    assert launched["actor"]["id"] == logged_in["actor"]["id"] == person
    assert launched["actor"]["name"] == "Ada Lovelace"
    assert launched["edApp"]["id"] == platform.issuer
    assert launched["object"]["id"] == "urn:hub:acme:app:hub"
    assert launched["federatedSession"]["messageParameters"]["sub"] == "u-cal"
    assert launched["group"]["type"] == "CourseSection"
    assert started["object"]["id"] == "urn:hub:acme:assignment:spark:a-essay"
    assert started["object"]["maxScore"] == 20.0
    assert started["generated"]["assignee"] == person


def test_the_course_dashboard_and_the_sign_out_become_navigation_view_and_logged_out(
    client: httpx.Client, platform: Platform, runtime: Runtime, stream: CaliperStream
) -> None:
    user(platform, "u-nav", name="Nav Igator", email="nav@school.example")
    start = head(stream)
    launched = launch(client, platform, "u-nav")
    assert launched.status_code == 303, launched.text
    session = session_of(runtime, launched)

    page = client.get(launched.headers["location"], headers=cookie_of(launched))
    assert page.status_code == 200, page.text
    navigated, viewed = (e["data"][0] for e in events_after(stream, start, 4, tenant="acme")[2:])
    out = client.post("/signout", headers=cookie_of(launched))
    logged_out = events_after(stream, start, 5, tenant="acme")[4]["data"][0]

    assert [(e["type"], e["action"]) for e in (navigated, viewed)] == [
        ("NavigationEvent", "NavigatedTo"),
        ("ViewEvent", "Viewed"),
    ]
    assert viewed["object"]["type"] == "WebPage"
    assert viewed["object"]["id"] == "urn:hub:acme:page:dashboard"
    assert viewed["object"]["isPartOf"] == viewed["group"]["id"]
    assert viewed["group"]["id"].startswith("urn:hub:acme:course:lti:")
    assert out.status_code == 204
    assert 'hub_session=""' in out.headers["set-cookie"]
    assert (logged_out["type"], logged_out["action"]) == ("SessionEvent", "LoggedOut")
    ended = web_session_id("acme", session.learner_id, session.issued_at)
    assert logged_out["session"]["id"] == f"urn:hub:acme:session:{hex_of(ended)}"
    before = runtime.hub.recorder.max_notification_id()
    assert client.post("/signout", headers=cookie_of(launched)).status_code == 204
    assert runtime.hub.recorder.max_notification_id() == before  # once per session


def test_a_pseudonymous_tenants_launch_envelopes_hold_no_name_email_or_lti_id(
    client: httpx.Client, other: Platform, runtime: Runtime, stream: CaliperStream
) -> None:
    task = spark_task(runtime, "beta")
    user(other, "u-secret", name="Bea Secretary", email="bea@school.example")
    start = head(stream)

    response = task_launch(client, other, "u-secret", task, "beta")

    found = events_after(stream, start, 3, tenant="beta", raw=True)
    learner = session_of(runtime, response).learner_id
    raw = b"".join(found).decode()
    for secret in ("Bea", "bea@school.example", "u-secret", hex_of(learner)):
        assert secret not in raw
    assert "urn:hub:beta:pseudonym:" in raw
    assert '"messageParameters"' not in raw
