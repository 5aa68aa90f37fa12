"""The OneRoster 1.2 REST publisher over real HTTP: client credentials, collections, paging,
filter / sort / fields, nested collections, the status format, scopes, tenants apart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from hub.http import create_app, runtime_readiness
from hub.roster.clients import CORE, DEMOGRAPHICS, register_client
from projections.roster import SqlRosterReadModel
from tests.hub.http.live_server import live_server
from tests.roster.bundles import school, write_bundle
from tests.roster.conftest import RosterWorld, tenant

BASE = "/ims/oneroster/rostering/v1p2"
TOKEN_URL = "/ims/oneroster/oauth2/token"


@pytest.fixture(scope="module")
def app(world: RosterWorld) -> FastAPI:
    made = create_app(world.runtime, readiness=runtime_readiness(world.runtime, world.engine))
    made.state.roster.read_model = made.state.oneroster.read_model = SqlRosterReadModel(
        world.engine
    )
    return made


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[httpx.Client]:
    with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as made:
        yield made


@pytest.fixture(scope="module")
def roster(world: RosterWorld, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tenant with the small school, more students, and a demographics file."""
    slug = tenant()
    world.runtime.hub.register_tenant(slug, slug, world.runtime.box)
    files = school()
    files["users"] += [
        dict(
            files["users"][1],
            sourcedId=f"s-{n}",
            givenName=f"Kid{n}",
            familyName="Zed",
            agentSourcedIds="",
            email=f"kid{n}@hill.example",
        )
        for n in range(3, 8)
    ]
    files["enrollments"] += [
        dict(files["enrollments"][1], sourcedId=f"e-k{n}", userSourcedId=f"s-{n}")
        for n in range(3, 8)
    ]
    files["demographics"] = [{"sourcedId": "s-1", "birthDate": "2012-03-04", "sex": "male"}]
    world.import_(write_bundle(tmp_path_factory.mktemp("rest") / "b.zip", files), slug)
    return slug


def bearer(world: RosterWorld, client: httpx.Client, slug: str, *scopes: str) -> dict[str, str]:
    made = register_client(world.runtime.hub, slug, "test", scopes or (CORE,))
    got = client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials"},
        auth=(made.client_id, made.client_secret),
    )
    assert got.status_code == 200, got.text
    assert got.json()["token_type"] == "bearer"
    return {"Authorization": f"Bearer {got.json()['access_token']}"}


def test_a_client_gets_a_token_with_its_credentials_only(
    world: RosterWorld, client: httpx.Client, roster: str
) -> None:
    made = register_client(world.runtime.hub, roster, "sis", (CORE,))
    wrong = client.post(
        TOKEN_URL,
        data={
            "grant_type": "client_credentials",
            "client_id": made.client_id,
            "client_secret": "nope",
        },
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    posted = client.post(
        TOKEN_URL,
        data={
            "grant_type": "client_credentials",
            "client_id": made.client_id,
            "client_secret": made.client_secret,
            "scope": CORE,
        },
    )
    assert posted.json()["scope"] == CORE
    more = client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials", "scope": DEMOGRAPHICS},
        auth=(made.client_id, made.client_secret),
    )
    assert more.status_code == 401


def test_users_page_with_link_and_total_count(
    world: RosterWorld, client: httpx.Client, roster: str
) -> None:
    auth = bearer(world, client, roster)
    got = client.get(f"{BASE}/users", params={"limit": 3, "offset": 3}, headers=auth)
    assert got.status_code == 200
    assert got.headers["X-Total-Count"] == "9"
    assert [u["sourcedId"] for u in got.json()["users"]] == ["s-3", "s-4", "s-5"]
    links = got.headers["Link"]
    assert 'rel="next"' in links
    assert "offset=6" in links
    assert 'rel="prev"' in links


def test_filter_sort_and_fields(world: RosterWorld, client: httpx.Client, roster: str) -> None:
    auth = bearer(world, client, roster)
    got = client.get(
        f"{BASE}/users",
        params={
            "filter": "familyName='Zed' AND givenName~'kid' OR sourcedId='t-1'",
            "sort": "givenName",
            "orderBy": "desc",
            "fields": "sourcedId,givenName",
        },
        headers=auth,
    )
    assert got.status_code == 200, got.text
    assert got.json()["users"] == [
        {"sourcedId": "t-1", "givenName": "Tess"},
        *({"sourcedId": f"s-{n}", "givenName": f"Kid{n}"} for n in range(7, 2, -1)),
    ]
    bad = client.get(f"{BASE}/users", params={"filter": "shoeSize='9'"}, headers=auth)
    assert bad.status_code == 400
    assert bad.json()["imsx_codeMajor"] == "failure"
    minor = bad.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]
    assert minor["imsx_codeMinorFieldValue"] == "invalid_filter_field"


def test_students_teachers_and_a_class_roster(
    world: RosterWorld, client: httpx.Client, roster: str
) -> None:
    auth = bearer(world, client, roster)
    teachers = client.get(f"{BASE}/teachers", headers=auth).json()["teachers"]
    assert [t["sourcedId"] for t in teachers] == ["t-1"]
    assert teachers[0]["roles"][0]["role"] == "teacher"
    students = client.get(f"{BASE}/classes/class-1/students", headers=auth).json()["students"]
    assert [s["sourcedId"] for s in students] == ["s-1", "s-2", "s-3", "s-4", "s-5", "s-6", "s-7"]
    sam = client.get(f"{BASE}/users/s-1", headers=auth).json()["user"]
    assert sam["agents"] == [{"href": f"{BASE}/users/p-1", "sourcedId": "p-1", "type": "user"}]
    assert sam["enabledUser"] is True
    classes = client.get(f"{BASE}/schools/org-1/classes", headers=auth).json()["classes"]
    assert [c["sourcedId"] for c in classes] == ["class-1"]
    assert classes[0]["terms"][0]["sourcedId"] == "term-1"
    mine = client.get(f"{BASE}/students/s-3/classes", headers=auth).json()["classes"]
    assert [c["sourcedId"] for c in mine] == ["class-1"]


def test_unknown_ids_missing_tokens_and_scopes(
    world: RosterWorld, client: httpx.Client, roster: str
) -> None:
    missing = client.get(f"{BASE}/users")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    auth = bearer(world, client, roster)
    unknown = client.get(f"{BASE}/users/nobody", headers=auth)
    assert unknown.status_code == 404
    assert unknown.json()["imsx_description"] == "no user 'nobody'"
    assert client.get(f"{BASE}/demographics", headers=auth).status_code == 403
    demographics = bearer(world, client, roster, DEMOGRAPHICS)
    found = client.get(f"{BASE}/demographics/s-1", headers=demographics).json()
    assert found["demographics"]["birthDate"] == "2012-03-04"


def test_a_token_reads_its_own_tenant_only(
    world: RosterWorld, client: httpx.Client, roster: str, tmp_path: Path
) -> None:
    other = tenant()
    world.runtime.hub.register_tenant(other, other, world.runtime.box)
    auth = bearer(world, client, other)
    assert client.get(f"{BASE}/users", headers=auth).json()["users"] == []
    assert client.get(f"{BASE}/users/s-1", headers=auth).status_code == 404
    forged = {"Authorization": auth["Authorization"][:-2] + "xx"}
    assert client.get(f"{BASE}/users", headers=forged).status_code == 401
