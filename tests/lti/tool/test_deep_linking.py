"""Deep Linking as a tool: the picker, and the signed response the platform verifies."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from hub.bootstrap import Runtime
from hub.domain.lti_tool import LtiResourceLink, LtiTaskLinks, resource_link_id, task_links_id
from hub.domain.quests import Quest, Task, quest_id, task_id
from tests.lti.tool.conftest import launch
from tests.lti.tool.platform_server import DL, INSTRUCTOR, LTI, Platform, parse_form_post, user

RESPOND = "/api/lti/tool/deep-link/respond"


@pytest.fixture(scope="module")
def catalogue(runtime: Runtime) -> tuple[str, str]:
    quest = Quest(tenant="acme", source="hub", external_id="q-ocean", details={"title": "Oceans"})
    task = Task(
        tenant="acme",
        source="hub",
        external_id="t-tides",
        quest_id=quest.id,
        details={"title": "Tides", "pillar": "science", "xp": 10, "max_points": 20},
    )
    elsewhere = Quest(tenant="beta", source="hub", external_id="q-b", details={"title": "Beta Q"})
    runtime.hub.save(quest, task, elsewhere)
    return quest.id, task.id


@pytest.fixture
def deep_linking(platform: Platform) -> Iterator[Platform]:
    user(platform, "u-dl", name="Dee Ell", email="dl@school.example", roles=[INSTRUCTOR])
    platform.next_launch = {
        LTI + "message_type": "LtiDeepLinkingRequest",
        LTI + "resource_link": None,
        DL + "deep_linking_settings": {
            "deep_link_return_url": f"{platform.base_url}/deep_links",
            "accept_types": ["ltiResourceLink", "link"],
            "accept_presentation_document_targets": ["iframe"],
            "accept_multiple": True,
            "data": "opaque-platform-data",
        },
    }
    yield platform
    platform.next_launch = {}


def picker(client: httpx.Client, platform: Platform) -> tuple[str, list[str]]:
    page = launch(client, platform, "u-dl")
    assert page.status_code == 200, page.text
    assert "samesite=none" in page.headers["set-cookie"].lower()
    ticket = re.search(r'name="ticket" value="([^"]+)"', page.text)
    assert ticket is not None
    return ticket.group(1), re.findall(r'name="item" value="([^"]+)"', page.text)


def test_the_picker_offers_the_tenants_quests_and_tasks_only(
    client: httpx.Client, deep_linking: Platform, catalogue: tuple[str, str]
) -> None:
    quest, task = catalogue

    _, items = picker(client, deep_linking)

    assert f"link:{quest}" in items
    assert f"ltiResourceLink:{task}" in items
    assert not [item for item in items if ":beta." in item]


def test_the_signed_response_reaches_the_platform_with_the_chosen_items(
    client: httpx.Client, deep_linking: Platform, catalogue: tuple[str, str], hub_url: str
) -> None:
    quest, task = catalogue
    ticket, _ = picker(client, deep_linking)

    answer = client.post(
        RESPOND, data={"ticket": ticket, "item": [f"ltiResourceLink:{task}", f"link:{quest}"]}
    )

    assert answer.status_code == 200, answer.text
    action, fields = parse_form_post(answer.text)
    assert action == f"{deep_linking.base_url}/deep_links"
    assert httpx.post(action, data=fields, timeout=10).status_code == 200
    received = deep_linking.deep_link_responses[-1]
    claims = received["claims"]
    assert received["header"]["alg"] == "RS256"
    assert claims["iss"] == deep_linking.client_id
    assert claims["aud"] == [deep_linking.issuer]
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[LTI + "version"] == "1.3.0"
    assert claims[LTI + "deployment_id"] == deep_linking.deployment_id
    assert claims[DL + "data"] == "opaque-platform-data"
    link, plain = claims[DL + "content_items"]
    assert link["type"] == "ltiResourceLink"
    assert link["title"] == "Tides"
    assert link["url"] == f"{hub_url}/api/lti/tool/launch"
    assert link["custom"]["hub_task"] == task
    assert link["lineItem"] == {"scoreMaximum": 20.0, "label": "Tides", "resourceId": task}
    assert plain == {"type": "link", "title": "Oceans", "url": f"{hub_url}/dashboard?quest={quest}"}


def test_a_deep_linking_request_is_answered_once(
    client: httpx.Client, deep_linking: Platform, catalogue: tuple[str, str]
) -> None:
    ticket, _ = picker(client, deep_linking)
    assert client.post(RESPOND, data={"ticket": ticket, "item": []}).status_code == 200

    again = client.post(RESPOND, data={"ticket": ticket, "item": []})

    assert again.status_code == 409
    assert again.json()["reason"] == "deep_link_responded"


def test_a_forged_ticket_or_an_item_not_offered_is_refused(
    client: httpx.Client, deep_linking: Platform, catalogue: tuple[str, str], runtime: Runtime
) -> None:
    ticket, _ = picker(client, deep_linking)
    launch_part, expiry, _ = ticket.split("~")
    before = runtime.hub.recorder.max_notification_id()

    forged = client.post(RESPOND, data={"ticket": f"{launch_part}~{expiry}~bm9wZQ"})
    foreign = client.post(
        RESPOND, data={"ticket": ticket, "item": f"link:{quest_id('beta', 'hub', 'q-b')}"}
    )

    assert (forged.status_code, forged.json()["reason"]) == (401, "ticket_invalid")
    assert (foreign.status_code, foreign.json()["reason"]) == (422, "items_invalid")
    assert runtime.hub.recorder.max_notification_id() == before


def test_a_launch_of_a_deep_linked_activity_maps_its_resource_link_to_the_task(
    client: httpx.Client, platform: Platform, catalogue: tuple[str, str], runtime: Runtime
) -> None:
    _, task = catalogue
    user(platform, "u-act", name="Ac Tivity", email="act@school.example")
    platform.next_launch = {
        LTI + "resource_link": {"id": "rl-tides", "title": "Tides"},
        LTI + "custom": {"hub_task": task},
    }
    try:
        response = launch(client, platform, "u-act")
    finally:
        platform.next_launch = {}

    assert response.status_code == 303, response.text
    link_id = resource_link_id("acme", platform.issuer, platform.client_id, "dep-1", "rl-tides")
    link: LtiResourceLink = runtime.hub.repository.get(link_id)
    assert link.task_id == task
    links: LtiTaskLinks = runtime.hub.repository.get(task_links_id("acme", task))
    assert links.links == [link_id]
    assert task == task_id("acme", "hub", "t-tides")


def test_a_custom_task_of_another_tenant_is_not_mapped(
    client: httpx.Client, platform: Platform, runtime: Runtime
) -> None:
    user(platform, "u-x", name="X", email="x@school.example")
    platform.next_launch = {
        LTI + "resource_link": {"id": "rl-x", "title": "X"},
        LTI + "custom": {"hub_task": task_id("beta", "hub", "t-any")},
    }
    try:
        assert launch(client, platform, "u-x").status_code == 303
    finally:
        platform.next_launch = {}

    link: LtiResourceLink = runtime.hub.repository.get(
        resource_link_id("acme", platform.issuer, platform.client_id, "dep-1", "rl-x")
    )
    assert link.task_id is None
