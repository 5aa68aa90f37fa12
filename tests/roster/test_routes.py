"""The admin roster routes over real HTTP: import, dry run, refusals as problems, the error
CSV, the admin token, unknown tenants."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from hub.http import create_app, runtime_readiness
from projections.roster import SqlRosterReadModel, wait_for
from tests.hub.http.live_server import live_server
from tests.roster.bundles import school, write_bundle
from tests.roster.conftest import RosterWorld, tenant

TOKEN = "roster-admin-token-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def app(world: RosterWorld) -> FastAPI:
    made = create_app(
        world.runtime, readiness=runtime_readiness(world.runtime, world.engine), admin_token=TOKEN
    )
    made.state.roster.read_model = SqlRosterReadModel(world.engine)
    return made


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[httpx.Client]:
    with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as made:
        yield made


def registered(world: RosterWorld) -> str:
    slug = tenant()
    world.runtime.hub.register_tenant(slug, slug, world.runtime.box)
    return slug


def post(client: httpx.Client, slug: str, path: Path, **params: str) -> httpx.Response:
    return client.post(
        f"/api/v1/admin/tenants/{slug}/roster/imports",
        content=path.read_bytes(),
        params=params,
        headers={**ADMIN, "Content-Type": "application/zip"},
    )


def test_an_admin_dry_runs_then_imports_a_bundle(
    world: RosterWorld, client: httpx.Client, tmp_path: Path
) -> None:
    slug = registered(world)
    bundle = write_bundle(tmp_path / "b.zip", school())
    dry = post(client, slug, bundle, dry_run="true")
    assert dry.status_code == 200, dry.text
    assert dry.json()["stats"]["users"]["creates"] == 4
    assert dry.json()["importId"] is None
    done = post(client, slug, bundle)
    assert done.status_code == 200
    assert done.json()["importId"] is not None
    wait_for(world.engine, done.json()["position"], timeout=20)  # the list is a read model
    listed = client.get(f"/api/v1/admin/tenants/{slug}/roster/imports", headers=ADMIN)
    assert [i["import_id"] for i in listed.json()] == [done.json()["importId"]]


def test_error_rows_download_as_csv(
    world: RosterWorld, client: httpx.Client, tmp_path: Path
) -> None:
    slug = registered(world)
    files = school()
    files["enrollments"].append(dict(files["enrollments"][0], sourcedId="e-9", role="=1+1"))
    done = post(client, slug, write_bundle(tmp_path / "b.zip", files)).json()
    assert done["position"] is not None
    wait_for(world.engine, done["position"], timeout=20)
    got = client.get(
        f"/api/v1/admin/tenants/{slug}/roster/imports/{done['importId']}/errors.csv",
        headers=ADMIN,
    )
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(got.text)))
    assert rows[0] == ["file", "row", "column", "code", "message"]
    assert rows[1][:4] == ["enrollments.csv", "5", "role", "unknown-role"]
    assert "'=1+1'" in rows[1][4]


def test_a_refused_bundle_is_a_problem_and_records_nothing(
    world: RosterWorld, client: httpx.Client, tmp_path: Path
) -> None:
    slug = registered(world)
    before = world.rosters.recorder.max_notification_id()
    path = write_bundle(tmp_path / "b.zip", school(), extra={"../evil.csv": b"x"})
    refused = post(client, slug, path)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["type"].endswith("/roster-bundle-refused")
    assert body["problems"][0]["code"] == "unsafe-path"
    assert world.rosters.recorder.max_notification_id() == before


def test_an_upload_past_the_limit_is_refused(
    world: RosterWorld, app: FastAPI, client: httpx.Client, tmp_path: Path
) -> None:
    slug = registered(world)
    before = world.rosters.recorder.max_notification_id()
    app.state.roster.max_upload_bytes = 1024
    try:
        refused = post(client, slug, write_bundle(tmp_path / "b.zip", school()))
    finally:
        app.state.roster.max_upload_bytes = 1 << 30
    assert refused.status_code == 413
    assert refused.json()["type"].endswith("/roster-bundle-too-large")
    assert world.rosters.recorder.max_notification_id() == before


def test_the_routes_need_the_admin_token_and_a_known_tenant(
    world: RosterWorld, client: httpx.Client, tmp_path: Path
) -> None:
    bundle = write_bundle(tmp_path / "b.zip", school())
    slug = registered(world)
    anonymous = client.post(f"/api/v1/admin/tenants/{slug}/roster/imports", content=b"")
    assert anonymous.status_code == 401
    unknown = post(client, tenant(), bundle)
    assert unknown.status_code == 404
    other = registered(world)
    done = post(client, slug, bundle).json()
    crossed = client.get(
        f"/api/v1/admin/tenants/{other}/roster/imports/{done['importId']}/errors.csv",
        headers=ADMIN,
    )
    assert crossed.status_code == 404


def test_an_admin_registers_a_oneroster_client_whose_secret_gets_a_token(
    world: RosterWorld, client: httpx.Client
) -> None:
    slug = registered(world)
    made = client.post(
        f"/api/v1/admin/tenants/{slug}/roster/clients", json={"name": "district"}, headers=ADMIN
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["client_id"].startswith(f"{slug}.")
    token = client.post(
        "/ims/oneroster/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(body["client_id"], body["client_secret"]),
    )
    assert token.status_code == 200
    bad = client.post(
        f"/api/v1/admin/tenants/{slug}/roster/clients",
        json={"name": "x", "scopes": ["everything"]},
        headers=ADMIN,
    )
    assert bad.status_code == 422


def test_an_admin_registers_a_sis_connection_and_runs_it_now(
    world: RosterWorld, client: httpx.Client, tmp_path: Path
) -> None:
    slug = registered(world)
    drop = tmp_path / "drop"
    drop.mkdir()
    write_bundle(drop / "monday.zip", school())
    base = f"/api/v1/admin/tenants/{slug}/roster/connectors"
    body = {
        "name": "sims",
        "kind": "oneroster-csv",
        "config": {"path": str(drop)},
        "schedule": "0 6 * * 1-5",
    }
    made = client.post(base, json=body, headers=ADMIN)
    assert made.status_code == 201, made.text
    assert client.post(base, json=body, headers=ADMIN).status_code == 409
    bad = client.post(base, json={**body, "name": "x", "schedule": "soon"}, headers=ADMIN)
    assert bad.status_code == 422
    dry = client.post(f"{base}/sims/runs", params={"dry_run": "true"}, headers=ADMIN)
    assert dry.status_code == 200, dry.text
    assert dry.json()["stats"]["users"]["creates"] == 4
    assert dry.json()["importId"] is None
    done = client.post(f"{base}/sims/runs", headers=ADMIN).json()
    assert done["error"] is None
    assert done["importId"] is not None
    [listed] = client.get(base, headers=ADMIN).json()
    assert listed["cursor"] == done["cursor"]
    assert listed["lastRunAt"] is not None
    assert client.post(f"{base}/nothing/runs", headers=ADMIN).status_code == 404


def test_an_admin_sets_the_precedence_of_sources_and_reads_the_conflicts(
    world: RosterWorld, client: httpx.Client
) -> None:
    slug = registered(world)
    base = f"/api/v1/admin/tenants/{slug}/roster"
    put = client.put(f"{base}/precedence", json={"systems": ["sims", "spark"]}, headers=ADMIN)
    assert put.status_code == 200
    assert put.json() == {"systems": ["sims", "spark"]}
    assert client.get(f"{base}/conflicts", headers=ADMIN).json() == []
    assert client.put(f"{base}/precedence", json={"systems": []}).status_code == 401
