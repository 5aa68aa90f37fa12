"""The badges admin API: define, update, retire, list; precise problems; tenants kept apart."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hub.badges import ensure_demo_badges, list_badges
from hub.bootstrap import Runtime
from hub.domain.badges import badge_book_id, badge_id
from tests.hub.http.conftest import admin

SCHOLAR: dict[str, Any] = {
    "key": "stem-scholar",
    "name": "STEM Scholar",
    "pillar": "stem",
    "kind": "pillar",
    "min_quests": 5,
    "min_xp": 1500,
}
MINECRAFT: dict[str, Any] = {
    "key": "minecraft-master",
    "name": "Minecraft Master",
    "pillar": "stem",
    "kind": "courses",
    "min_xp": 900,
    "required_courses": [
        {"external_id": "course_minecraft_biology", "title": "Minecraft Biology"},
        {"source": "lti", "external_id": "geo-101"},
    ],
}


def badges_of(tenant: str) -> str:
    return f"/api/v1/admin/tenants/{tenant}/badges"


@pytest.fixture
def tenants(runtime: Runtime) -> None:
    for slug in ("alpha", "beta"):
        runtime.hub.register_tenant(slug, slug.title(), runtime.box)


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://hub.example/problems/{slug}"
    return body


@pytest.mark.usefixtures("tenants")
def test_a_defined_badge_is_listed_and_read_back(client: httpx.Client, runtime: Runtime) -> None:
    created = client.post(badges_of("alpha"), headers=admin(), json=MINECRAFT)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{badges_of('alpha')}/minecraft-master"
    body = created.json()
    assert body["id"] == badge_id("alpha", "minecraft-master")
    assert body["position"] >= 1
    assert body["required_courses"] == [
        {
            "source": "spark",
            "external_id": "course_minecraft_biology",
            "title": "Minecraft Biology",
        },
        {"source": "lti", "external_id": "geo-101", "title": ""},
    ]
    assert body["retired"] is False
    client.post(badges_of("alpha"), headers=admin(), json=SCHOLAR).raise_for_status()
    listed = client.get(badges_of("alpha"), headers=admin()).json()
    assert [b["name"] for b in listed] == ["Minecraft Master", "STEM Scholar"]
    one = client.get(f"{badges_of('alpha')}/stem-scholar", headers=admin()).json()
    assert (one["min_quests"], one["min_xp"], one["position"]) == (5, 1500, None)
    # The first definition opened the tenant's badge book in the same commit.
    events = list(runtime.hub.repository.event_store.get(badge_book_id("alpha")))
    assert [type(e).__qualname__ for e in events][:2] == [
        "BadgeBook.Opened",
        "BadgeBook.BadgeDefined",
    ]
    assert events[1].context["verified_by"] == "admin-token"


@pytest.mark.usefixtures("tenants")
def test_updating_a_badge_changes_its_rule_and_the_same_rule_records_nothing(
    client: httpx.Client,
) -> None:
    client.post(badges_of("alpha"), headers=admin(), json=SCHOLAR).raise_for_status()
    rule = {k: v for k, v in SCHOLAR.items() if k != "key"} | {"min_xp": 1200}
    updated = client.put(f"{badges_of('alpha')}/stem-scholar", headers=admin(), json=rule)
    assert updated.status_code == 200, updated.text
    assert updated.json()["min_xp"] == 1200
    assert updated.json()["position"] is not None
    again = client.put(f"{badges_of('alpha')}/stem-scholar", headers=admin(), json=rule)
    assert again.json()["position"] is None


@pytest.mark.usefixtures("tenants")
def test_a_retired_badge_stays_listed_and_cannot_change_or_be_redefined(
    client: httpx.Client,
) -> None:
    client.post(badges_of("alpha"), headers=admin(), json=SCHOLAR).raise_for_status()
    retired = client.post(f"{badges_of('alpha')}/stem-scholar/retire", headers=admin())
    assert retired.status_code == 200
    assert retired.json()["retired"] is True
    rule = {k: v for k, v in SCHOLAR.items() if k != "key"}
    problem(
        client.put(f"{badges_of('alpha')}/stem-scholar", headers=admin(), json=rule),
        409,
        "badge-retired",
    )
    problem(
        client.post(f"{badges_of('alpha')}/stem-scholar/retire", headers=admin()),
        409,
        "badge-retired",
    )
    problem(client.post(badges_of("alpha"), headers=admin(), json=SCHOLAR), 409, "badge-exists")
    assert client.get(badges_of("alpha"), headers=admin()).json()[0]["retired"] is True


@pytest.mark.usefixtures("tenants")
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pillar": "music"}, "body.pillar"),
        ({"kind": "courses"}, None),  # a courses badge without courses
        ({"min_xp": -1}, "body.min_xp"),
        ({"key": "Bad Key"}, "body.key"),
        ({"surprise": 1}, "body.surprise"),
    ],
)
def test_a_bad_definition_is_a_422_problem_and_records_nothing(
    client: httpx.Client, runtime: Runtime, change: dict[str, Any], field: str | None
) -> None:
    body = problem(
        client.post(badges_of("alpha"), headers=admin(), json=SCHOLAR | change),
        422,
        "validation-failed",
    )
    if field is not None:
        assert body["errors"][0]["field"] == field
    else:
        assert "at least one required course" in body["detail"]
    assert list_badges(runtime.hub, "alpha") == []


@pytest.mark.usefixtures("tenants")
def test_unknown_tenants_and_badges_are_404_problems(client: httpx.Client) -> None:
    problem(client.post(badges_of("nowhere"), headers=admin(), json=SCHOLAR), 404, "not-found")
    problem(client.get(badges_of("nowhere"), headers=admin()), 404, "not-found")
    problem(client.get(f"{badges_of('alpha')}/nobody", headers=admin()), 404, "not-found")
    problem(client.post(f"{badges_of('alpha')}/nobody/retire", headers=admin()), 404, "not-found")
    rule = {k: v for k, v in SCHOLAR.items() if k != "key"}
    problem(
        client.put(f"{badges_of('alpha')}/nobody", headers=admin(), json=rule), 404, "not-found"
    )


@pytest.mark.usefixtures("tenants")
def test_the_badges_api_needs_the_admin_token(client: httpx.Client) -> None:
    problem(client.post(badges_of("alpha"), json=SCHOLAR), 401, "unauthorized")
    problem(client.get(badges_of("alpha"), headers=admin("wrong")), 401, "unauthorized")


@pytest.mark.usefixtures("tenants")
def test_tenants_badges_are_apart(client: httpx.Client) -> None:
    alpha = client.post(badges_of("alpha"), headers=admin(), json=SCHOLAR).json()
    assert client.get(badges_of("beta"), headers=admin()).json() == []
    problem(client.get(f"{badges_of('beta')}/stem-scholar", headers=admin()), 404, "not-found")
    beta = client.post(badges_of("beta"), headers=admin(), json=SCHOLAR).json()
    assert beta["id"] != alpha["id"]
    assert beta["id"].startswith("beta.")


def test_the_demo_tenant_gets_the_seeds_badges_once(runtime: Runtime) -> None:
    assert ensure_demo_badges(runtime.hub, "demo") == 0  # not registered: nothing
    assert ensure_demo_badges(runtime.hub, None) == 0
    runtime.hub.register_tenant("demo", "Demo School", runtime.box)
    assert ensure_demo_badges(runtime.hub, "demo") == 3
    assert ensure_demo_badges(runtime.hub, "demo") == 0
    found = {b.rule.name: b.rule for b in list_badges(runtime.hub, "demo")}
    assert set(found) == {"STEM Scholar", "Digital Arts Creator", "Minecraft Master"}
    assert (found["STEM Scholar"].kind, found["STEM Scholar"].min_quests) == ("pillar", 5)
    assert [c.title for c in found["Minecraft Master"].required] == [
        "Minecraft Biology",
        "Minecraft Geology",
        "Minecraft Zoology",
    ]
