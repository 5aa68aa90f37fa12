"""NRPS 2.0 on the hub as platform: members of a context from the Spark enrolments."""

from __future__ import annotations

import re

import pytest

from schemas.lti import (
    INSTRUCTOR,
    LEARNER,
    MEMBERSHIP_MEDIA,
    OLD_MEMBERSHIP_MEDIA,
    SCOPE_NRPS,
)
from tests.lti.platform.oauth import access_token, bearer
from tests.lti.platform.world import World

NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


@pytest.fixture(scope="module")
def token(world: World) -> str:
    return access_token(world, (SCOPE_NRPS,))


def members_url(world: World) -> str:
    return f"/t/{world.tenant}/api/lti/nrps/contexts/{world.context_id}/memberships"


def test_members_come_a_page_at_a_time_following_link_next(world: World, token: str) -> None:
    url: str | None = f"{world.client.base_url}{members_url(world)}?limit=3"
    pages = []
    while url:
        response = world.client.get(url.lower(), headers=bearer(token))  # as pylti1p3 does
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == MEMBERSHIP_MEDIA
        pages.append([m["user_id"] for m in response.json()["members"]])
        found = NEXT.search(response.headers.get("link", ""))
        url = found.group(1) if found else None
    assert [len(page) for page in pages] == [3, 1]
    assert sorted(u for page in pages for u in page) == sorted(world.people.values())
    body = world.client.get(members_url(world), headers=bearer(token)).json()
    assert body["context"] == {"id": world.context_id, "label": "Algebra I", "title": "Algebra I"}


@pytest.mark.parametrize(
    ("role", "expected"),
    [("Learner", ["s1", "s2", "s3"]), (INSTRUCTOR, ["t1"]), (LEARNER.lower(), ["s1", "s2", "s3"])],
)
def test_the_role_filter_takes_short_names_and_uris(
    world: World, token: str, role: str, expected: list[str]
) -> None:
    response = world.client.get(members_url(world), headers=bearer(token), params={"role": role})
    assert sorted(m["user_id"] for m in response.json()["members"]) == sorted(
        world.people[p] for p in expected
    )


def test_members_carry_ims_roles_and_what_the_tool_may_see(world: World, token: str) -> None:
    response = world.client.get(
        members_url(world), headers={**bearer(token), "Accept": OLD_MEMBERSHIP_MEDIA}
    )
    assert response.headers["content-type"] == OLD_MEMBERSHIP_MEDIA  # older Canvas clients
    by_id = {m["user_id"]: m for m in response.json()["members"]}
    ada = by_id[world.people["s1"]]
    assert ada == {
        "user_id": world.people["s1"],
        "status": "Active",
        "roles": [LEARNER],
        "name": "Ada Lovelace",
        "email": "s1@school.example",
    }
    assert by_id[world.people["t1"]]["roles"] == [INSTRUCTOR]


def test_a_limit_out_of_range_is_a_problem(world: World, token: str) -> None:
    response = world.client.get(members_url(world), headers=bearer(token), params={"limit": 0})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
