"""The hub as a tool, launched end to end by a platform that is not ours."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from hub.bootstrap import Runtime
from hub.domain.learners import EmailIndex, Learner, email_index_id
from hub.domain.lti_tool import (
    SOURCE,
    LtiLaunch,
    LtiResourceLink,
    context_key,
    launch_id,
    resource_link_id,
)
from hub.domain.quests import quest_id
from hub.spark.sessions import SessionSigner, session_key
from tests.lti.tool.conftest import launch, login
from tests.lti.tool.platform_server import INSTRUCTOR, LEARNER, Platform, parse_form_post, user


def session_of(runtime: Runtime, response: httpx.Response) -> Any:
    cookie = response.headers["set-cookie"]
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    return SessionSigner(session_key(runtime.settings)).read(value, now=0)


def head(runtime: Runtime) -> int:
    return runtime.hub.recorder.max_notification_id() or 0


def test_login_redirects_to_the_platform_with_the_oidc_parameters(
    client: httpx.Client, platform: Platform, hub_url: str
) -> None:
    response = client.get(
        "/t/acme/api/lti/tool/login",
        params={
            "iss": platform.issuer,
            "login_hint": "u-login",
            "target_link_uri": "https://tool.example/launch",
            "client_id": platform.client_id,
        },
    )

    assert response.status_code == 302
    assert "set-cookie" not in response.headers  # the state is kept in the log, not a cookie
    location = response.headers["location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert location.startswith(f"{platform.base_url}/auth?")
    assert query["scope"] == "openid"
    assert query["response_type"] == "id_token"
    assert query["response_mode"] == "form_post"
    assert query["prompt"] == "none"
    assert query["client_id"] == platform.client_id
    assert query["login_hint"] == "u-login"
    assert query["redirect_uri"] == f"{hub_url}/api/lti/tool/launch"
    assert query["state"].startswith("acme.")
    assert len(query["nonce"]) >= 32


def test_a_first_launch_registers_the_learner_maps_the_course_and_signs_in(
    client: httpx.Client, platform: Platform, runtime: Runtime
) -> None:
    user(platform, "u-first", name="Ada Lovelace", email="ada@school.example")

    response = launch(client, platform, "u-first")

    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"].lower()
    assert "samesite=none" in cookie
    assert "secure" in cookie
    assert "httponly" in cookie
    session = session_of(runtime, response)
    assert session.tenant == "acme"
    assert session.role == "student"
    learner: Learner = runtime.hub.repository.get(session.learner_id)
    assert (learner.given_name, learner.family_name) == ("Ada", "Lovelace")
    assert learner.email == "ada@school.example"
    quest = quest_id(
        "acme", SOURCE, context_key(platform.issuer, platform.client_id, "dep-1", "c1")
    )
    assert learner.is_enrolled(quest)
    assert runtime.hub.repository.get(quest).details["title"] == "Biology"
    link: LtiResourceLink = runtime.hub.repository.get(
        resource_link_id("acme", platform.issuer, platform.client_id, "dep-1", "rl-1")
    )
    assert link.quest_id == quest
    assert link.lineitem == f"{platform.base_url}/lineitems/li-1"
    target = urlsplit(response.headers["location"])
    assert target.path == "/dashboard"
    assert parse_qs(target.query)["quest"] == [quest]


def test_a_returning_learner_launch_is_one_event_after_its_login(
    client: httpx.Client, platform: Platform, runtime: Runtime
) -> None:
    user(platform, "u-back", name="Grace Hopper", email="grace@school.example")
    first = session_of(runtime, launch(client, platform, "u-back"))
    before = head(runtime)

    again = launch(client, platform, "u-back")

    assert again.status_code == 303
    assert session_of(runtime, again).learner_id == first.learner_id
    assert head(runtime) - before == 2  # LtiLaunch.Initiated, then LtiLaunch.Accepted


def test_a_launch_links_a_known_person_by_email(
    client: httpx.Client, platform: Platform, runtime: Runtime
) -> None:
    known = Learner(
        tenant="acme",
        source="oneroster",
        external_id="s-77",
        email="linus@school.example",
        given_name="Linus",
        family_name="",
        role="student",
    )
    index = EmailIndex(tenant="acme", email="linus@school.example", learner_id=known.id)
    runtime.hub.save(known, index)
    user(platform, "u-linus", name="Linus Pauling", email="Linus@School.example")

    session = session_of(runtime, launch(client, platform, "u-linus"))

    assert session.learner_id == known.id
    linked: Learner = runtime.hub.repository.get(known.id)
    assert any(i.startswith(f"lti:{platform.issuer}|") for i in linked.identities)
    assert linked.family_name == "Pauling"  # filled, not overwritten
    assert runtime.hub.repository.get(email_index_id("acme", "linus@school.example"))


def test_the_instructor_role_wins_over_learner(
    client: httpx.Client, platform: Platform, runtime: Runtime
) -> None:
    user(
        platform, "u-teach", name="T Eacher", email="t@school.example", roles=[LEARNER, INSTRUCTOR]
    )

    session = session_of(runtime, launch(client, platform, "u-teach"))

    assert session.role == "instructor"


def test_a_rotated_platform_key_is_fetched_once_and_accepted(
    client: httpx.Client, platform: Platform, runtime: Runtime
) -> None:
    user(platform, "u-rot", name="R Otate", email="rot@school.example")
    launch(client, platform, "u-rot")
    platform.rotate()

    response = launch(client, platform, "u-rot")

    assert response.status_code == 303, response.text


def test_the_accepted_launch_keeps_its_verified_record(
    client: httpx.Client, platform: Platform, runtime: Runtime
) -> None:
    user(platform, "u-rec", name="R Ecord", email="rec@school.example")
    _, query = login(client, platform, "u-rec")
    page = httpx.get(f"{platform.base_url}/auth", params=query, timeout=10)
    assert page.status_code == 200

    action, fields = parse_form_post(page.text)
    assert client.post(action, data=fields).status_code == 303
    stored: LtiLaunch = runtime.hub.repository.get(launch_id("acme", query["state"]))
    assert stored.accepted
    assert stored.learner_id is not None


def test_a_login_initiation_may_be_posted_as_a_form(
    client: httpx.Client, platform: Platform
) -> None:
    response = client.post(
        "/api/lti/tool/login?tenant=acme",
        data={
            "iss": platform.issuer,
            "login_hint": "u-post",
            "target_link_uri": "https://tool.example/launch",
            "client_id": platform.client_id,
            "deployment_id": platform.deployment_id,  # Canvas's spelling
        },
    )

    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["login_hint"] == ["u-post"]
    assert query["state"][0].startswith("acme.")
