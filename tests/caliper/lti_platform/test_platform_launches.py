"""Caliper from the hub as an LTI platform, on real launches: a learner launches a tool built
with pylti1p3 from a Spark quest, then opens their portfolio."""

from __future__ import annotations

from connectors.caliper_stream import CaliperStream
from hub.caliper.iris import hex_of
from schemas.caliper_rules import validate_envelope
from tests.caliper.streamed import events_after, head
from tests.lti.platform.world import World


def test_a_launch_of_a_tool_from_a_quest_is_a_tool_launch_with_its_lti_session(
    world: World, stream: CaliperStream
) -> None:
    start = head(stream)

    world.launch("s1")

    (envelope,) = events_after(stream, start, 1, tenant="acme")
    validate_envelope(envelope)
    launched = envelope["data"][0]
    assert (launched["type"], launched["action"]) == ("ToolLaunchEvent", "Launched")
    assert launched["actor"] == {
        "id": f"urn:hub:acme:person:{hex_of(world.people['s1'])}",
        "type": "Person",
    }
    assert launched["object"]["id"] == f"urn:hub:acme:tool:{world.client_id}"
    assert launched["target"]["id"] == f"urn:hub:acme:platform-link:{world.link_id}"
    assert launched["edApp"]["id"] == "urn:hub:acme:app:hub"
    assert launched["group"]["id"] == "urn:hub:acme:course:spark:course-1"
    assert launched["membership"]["member"] == launched["actor"]["id"]
    session = launched["federatedSession"]
    assert session["type"] == "LtiSession"
    assert session["messageParameters"]["sub"] == world.people["s1"]


def test_a_portfolio_view_is_navigation_to_and_a_view_of_that_persons_portfolio_page(
    world: World, stream: CaliperStream
) -> None:
    start = head(stream)

    page = world.client.get("/portfolio", headers={"Cookie": world.cookie("s2")})

    assert page.status_code == 200, page.text
    envelopes = events_after(stream, start, 2, tenant="acme")
    for envelope in envelopes:
        validate_envelope(envelope)
    navigated, viewed = (e["data"][0] for e in envelopes)
    person = hex_of(world.people["s2"])
    assert (navigated["action"], viewed["action"]) == ("NavigatedTo", "Viewed")
    assert navigated["object"] == viewed["object"]
    assert viewed["object"]["id"] == f"urn:hub:acme:page:portfolio:{person}"
    assert viewed["object"]["type"] == "WebPage"
    assert viewed["actor"]["id"] == f"urn:hub:acme:person:{person}"
