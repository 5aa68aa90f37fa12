"""Deep Linking on the hub as platform: the request to a pylti1p3 tool, its signed
response creating the chosen links (and their line items), once."""

from __future__ import annotations

import re
from typing import Any

import httpx
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem

from hub.domain.lti_platform import LtiResourceLink, resource_link_id
from tests.lti.platform.oauth import access_token, bearer, sign
from tests.lti.platform.world import World

RESPONSE = "https://purl.imsglobal.org/spec/lti-dl/claim/"


def deep_link_launch(world: World) -> Any:
    path = (
        f"/t/{world.tenant}/lti/deep-link/{world.client_id}"
        f"?deployment_id=dep-1&context_id={world.context_id}"
    )
    login = world.start(path, "t1", "teacher")
    response = world.authorize(world.tool.login(login), "t1", "teacher")
    assert response.status_code == 200, response.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', response.text))
    return world.tool.launch(fields)


def post_back(world: World, jwt_value: str) -> httpx.Response:
    return world.client.post(
        f"/t/{world.tenant}/api/lti/platform/deep-link/return", data={"JWT": jwt_value}
    )


def link_ids(response: httpx.Response) -> list[str]:
    found = re.search(r'data-link-ids="([^"]*)"', response.text)
    assert found is not None, response.text
    return found.group(1).split()


def test_the_tools_choice_becomes_resource_links_with_their_line_item(world: World) -> None:
    launch = deep_link_launch(world)
    assert launch.is_deep_link_launch()
    settings = launch.get_launch_data()[RESPONSE + "deep_linking_settings"]
    assert settings["deep_link_return_url"].endswith("/api/lti/platform/deep-link/return")
    graded = (
        DeepLinkResource()
        .set_url("https://tool.example/launch?quiz=9")
        .set_title("Quiz 9")
        .set_custom_params({"quiz": "9"})
        .set_lineitem(LineItem().set_score_maximum(30).set_label("Quiz 9").set_tag("quiz"))
    )
    plain = (
        DeepLinkResource()
        .set_type("link")
        .set_url("https://tool.example/read")
        .set_title("Reading")
    )
    jwt_value = launch.get_deep_link().get_response_jwt([graded, plain])

    response = post_back(world, jwt_value)
    assert response.status_code == 200, response.text
    made = [
        world.runtime.hub.repository.get(resource_link_id(world.tenant, link_id))
        for link_id in link_ids(response)
    ]
    assert [(m.kind, m.title, m.url) for m in made] == [
        ("ltiResourceLink", "Quiz 9", "https://tool.example/launch?quiz=9"),
        ("link", "Reading", "https://tool.example/read"),
    ]
    assert isinstance(made[0], LtiResourceLink)
    assert made[0].custom == {"quiz": "9"}
    items = world.client.get(
        f"/t/{world.tenant}/api/lti/ags/contexts/{world.context_id}/lineitems",
        headers=bearer(access_token(world)),
        params={"resource_link_id": made[0].link_id},
    ).json()
    assert [(i["label"], i["scoreMaximum"], i["tag"]) for i in items] == [("Quiz 9", 30, "quiz")]
    launched = world.launch("s1", link_id=made[0].link_id).get_launch_data()
    assert launched["https://purl.imsglobal.org/spec/lti/claim/resource_link"]["title"] == "Quiz 9"

    replay = post_back(world, jwt_value)
    assert (replay.status_code, replay.json()["reason"]) == (400, "launch_replayed")


def test_a_response_for_another_deployment_or_request_is_refused(world: World) -> None:
    launch = deep_link_launch(world)
    claims = launch.get_deep_link().get_message_jwt([])
    wrong_deployment = {
        **claims,
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "dep-9",
    }
    response = post_back(world, sign(wrong_deployment, world.tool.key))
    assert (response.status_code, response.json()["reason"]) == (400, "deployment_unknown")
    wrong_data = {**claims, RESPONSE + "data": "not-the-request"}
    response = post_back(world, sign(wrong_data, world.tool.key))
    assert (response.status_code, response.json()["reason"]) == (400, "deep_link_invalid")
    wrong_audience = {**claims, "aud": "https://elsewhere.example"}
    response = post_back(world, sign(wrong_audience, world.tool.key))
    assert (response.status_code, response.json()["reason"]) == (401, "assertion_audience")
