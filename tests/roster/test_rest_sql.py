"""The REST publisher's common queries run in SQL (filter on sourcedId, status,
dateLastModified, an enrolment's role; sort; limit/offset) and answer exactly what the
Python fallback answers for them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from hub.http import create_app, runtime_readiness
from hub.roster.clients import CORE, register_client
from hub.roster.rest_model import FIELDS
from hub.roster.rest_query import matches, parse_filter, sort, sql_plan
from hub.roster.rest_routes import COLLECTIONS, load_resources, sql_page
from projections.roster import SqlRosterReadModel
from tests.hub.http.live_server import live_server
from tests.roster.bundles import school, write_bundle
from tests.roster.conftest import RosterWorld, tenant

BASE = "/ims/oneroster/rostering/v1p2"


@pytest.fixture(scope="module")
def roster(world: RosterWorld, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tenant with two systems' records (the same sourcedIds in both), records with and
    without dateLastModified, and a second tenant beside it."""
    slug = tenant()
    folder = tmp_path_factory.mktemp("rest-sql")
    files = school()
    files["users"] += [
        dict(files["users"][1], sourcedId=f"s-{n:02}", agentSourcedIds="", email="")
        for n in range(3, 30)
    ]
    files["enrollments"] += [
        dict(files["enrollments"][1], sourcedId=f"e-{n:02}", userSourcedId=f"s-{n:02}")
        for n in range(3, 30)
    ]
    files["enrollments"].append(dict(files["enrollments"][0], sourcedId="E-upper"))
    world.import_(write_bundle(folder / "a.zip", files), slug)
    world.import_(write_bundle(folder / "b.zip", school()), slug, system="sims")
    delta = {
        "enrollments": [
            dict(e, status="active", dateLastModified=f"2025-10-{n + 1:02}T08:00:00.000Z")
            for n, e in enumerate(files["enrollments"][3:12])
        ]
    }
    world.import_(write_bundle(folder / "d.zip", delta, mode="delta"), slug)
    other = tenant()
    world.import_(write_bundle(folder / "o.zip", files), other)
    return slug


QUERIES = [
    ("enrollments", None, None, None),
    ("enrollments", None, "sourcedId", "desc"),
    ("enrollments", "role='teacher'", None, None),
    ("enrollments", "role!='teacher' AND sourcedId>='e-10'", "sourcedId", "asc"),
    ("enrollments", "role='teacher' OR sourcedId<'e-05'", None, None),
    ("enrollments", "dateLastModified>'2025-10-04'", "dateLastModified", "desc"),
    ("enrollments", "status='active' AND dateLastModified<='2025-10-03T08:00:00.000Z'", None, None),
    ("enrollments", "status!='active'", None, None),
    ("users", "sourcedId>'s-2'", "sourcedId", "desc"),
    ("users", None, "status", None),
    ("classes", "sourcedId='class-1'", None, None),
    ("orgs", None, None, None),
]


@pytest.mark.parametrize(("entity", "text", "field", "order"), QUERIES)
def test_sql_pages_answer_what_the_python_fallback_answers(
    world: RosterWorld,
    roster: str,
    entity: str,
    text: str | None,
    field: str | None,
    order: str | None,
) -> None:
    model = SqlRosterReadModel(world.engine)
    where = parse_filter(text, FIELDS[entity])
    plan = sql_plan(entity, where, field, order)
    assert plan is not None  # each of these runs in SQL
    everything = load_resources(model, roster, entity)
    expected = sort([r for r in everything if matches(r, where)], field, order, FIELDS[entity])
    for offset, limit in ((0, 1000), (0, 7), (5, 4), (len(expected), 10)):
        total, page = sql_page(model, roster, entity, plan, offset=offset, limit=limit)
        assert total == len(expected)
        assert page == expected[offset : offset + limit], (offset, limit)


def test_what_sql_cannot_do_falls_back_to_python() -> None:
    users = FIELDS["users"]
    assert sql_plan("users", parse_filter("givenName~'sa'", users), None, None) is None
    assert sql_plan("users", parse_filter("roles.role='student'", users), None, None) is None
    assert sql_plan("users", [], "familyName", None) is None
    assert not COLLECTIONS["students"].whole  # narrowed by role: Python
    assert COLLECTIONS["enrollments"].whole


@pytest.fixture(scope="module")
def client(world: RosterWorld) -> Iterator[httpx.Client]:
    app: FastAPI = create_app(
        world.runtime, readiness=runtime_readiness(world.runtime, world.engine)
    )
    app.state.roster.read_model = app.state.oneroster.read_model = SqlRosterReadModel(world.engine)
    with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as made:
        yield made


def test_a_filtered_page_of_enrollments_over_http(
    world: RosterWorld, client: httpx.Client, roster: str
) -> None:
    world.runtime.hub.register_tenant(roster, roster, world.runtime.box)
    made = register_client(world.runtime.hub, roster, "sql", (CORE,))
    token = client.post(
        "/ims/oneroster/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(made.client_id, made.client_secret),
    ).json()["access_token"]
    got = client.get(
        f"{BASE}/enrollments",
        params={
            "filter": "role='student' AND sourcedId>='e-1'",
            "sort": "sourcedId",
            "orderBy": "desc",
            "limit": "5",
            "offset": "5",
            "fields": "sourcedId,role",
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert got.status_code == 200, got.text
    # e-10..e-29 from oneroster, e-2 and e-3 from both systems: 24; e-3, e-3, e-29.. first
    assert got.headers["X-Total-Count"] == "24"
    assert got.json()["enrollments"] == [
        {"sourcedId": f"e-{n}", "role": "student"} for n in (26, 25, 24, 23, 22)
    ]
    assert 'rel="next"' in got.headers["Link"]
    assert "offset=10" in got.headers["Link"]
    bad = client.get(
        f"{BASE}/enrollments",
        params={"sort": "sourcedId", "orderBy": "sideways"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bad.status_code == 400
    assert bad.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == (
        "invaliddata"
    )
