"""The Caliper admin API on real parts (settings, the delivery read model), and the HTTP path in."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connectors.caliper_emitter import SPEC
from connectors.caliper_stream import CaliperStream
from hub.bootstrap import Runtime, build_runtime
from hub.caliper.settings import read_settings, token_context
from hub.dev.spark_client import sign, sso_token, submission_payload
from hub.http import create_app, runtime_readiness
from hub.spark.connection import connect_spark
from infra.settings import Settings
from infra.sql import make_engine
from projections.rebuild import rebuild
from projections.runner import run_projection
from tests.caliper.endpoint import FakeEndpoint
from tests.caliper.loops import delivering, publish
from tests.caliper.world import BOX, on_stream
from tests.connectors.world import running, wait_for
from tests.hub.http.conftest import ADMIN_TOKEN, admin
from tests.hub.http.live_server import live_server
from tests.projections.conftest import fresh_database


@pytest.fixture
def database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A fresh read-model database: a SQLite file, or a PostgreSQL schema when testing it."""
    maker = fresh_database(database_url, tmp_path)
    yield next(maker)()
    next(maker, None)  # drops what it made


@pytest.fixture
def runtime(
    env: dict[str, str], nats_url: str, stream_prefix: str, tmp_path: Path, database: str
) -> Iterator[Runtime]:
    settings = Settings(data_dir=tmp_path, stream_prefix=stream_prefix, database_url=database)
    built = build_runtime(settings, nats_url)  # opens the key the env fixture wrote
    yield built
    built.hub.close()


@pytest.fixture
def client(runtime: Runtime, database: str) -> Iterator[httpx.Client]:
    engine = make_engine(database)
    app = create_app(runtime, readiness=runtime_readiness(runtime, engine), admin_token=ADMIN_TOKEN)
    with live_server(app) as base, httpx.Client(base_url=base, timeout=10) as made:
        yield made
    engine.dispose()


def put(client: httpx.Client, slug: str, **body: object) -> httpx.Response:
    return client.put(f"/api/v1/admin/tenants/{slug}/caliper", headers=admin(), json=body)


def test_settings_are_stored_and_read_back_without_the_token(
    client: httpx.Client, runtime: Runtime
) -> None:
    runtime.hub.register_tenant("acme", "Acme", BOX)
    response = put(
        client,
        "acme",
        event_types=["GradeEvent", "SessionEvent"],
        pseudonymous=True,
        endpoint_url="https://lrs.example.org/caliper",
        bearer_token="s3cret-token",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "tenant": "acme",
        "enabled": True,
        "event_types": ["SessionEvent", "GradeEvent"],
        "pseudonymous": True,
        "endpoint_url": "https://lrs.example.org/caliper",
        "has_bearer_token": True,
        "allowed_hosts": [],
        "subjects": f"{runtime.settings.stream_prefix}.caliper.acme.>",
        "version": 1,
    }
    stored = read_settings(runtime.hub, "acme")
    assert stored is not None
    assert stored.token_sealed is not None
    assert "s3cret-token" not in stored.token_sealed
    assert BOX.decrypt(stored.token_sealed, context=token_context("acme")) == "s3cret-token"

    kept = put(client, "acme", enabled=False, endpoint_url="https://lrs.example.org/caliper")
    assert (kept.json()["enabled"], kept.json()["has_bearer_token"]) == (False, True)
    removed = put(client, "acme", bearer_token="")
    assert removed.json()["has_bearer_token"] is False
    read = client.get("/api/v1/admin/tenants/acme/caliper", headers=admin())
    assert read.status_code == 200
    assert "token" not in {k for k in read.json() if k != "has_bearer_token"}
    assert read.json()["version"] == 3


def test_bad_requests_are_precise_problems(client: httpx.Client, runtime: Runtime) -> None:
    runtime.hub.register_tenant("acme", "Acme", BOX)
    unknown_type = put(client, "acme", event_types=["MediaEvent"])
    assert unknown_type.status_code == 422
    assert unknown_type.headers["content-type"] == "application/problem+json"
    no_tenant = put(client, "nobody")
    assert no_tenant.status_code == 404
    assert "no tenant 'nobody'" in no_tenant.json()["detail"]
    unset = client.get("/api/v1/admin/tenants/acme/caliper", headers=admin())
    assert unset.status_code == 404
    bad_url = put(client, "acme", endpoint_url="not a url")
    assert bad_url.status_code == 422
    anonymous = client.get("/api/v1/admin/tenants/acme/caliper")
    assert anonymous.status_code == 401
    assert read_settings(runtime.hub, "acme") is None  # nothing written by any of them


def test_an_admin_sees_a_tenants_delivery_status_and_no_other_tenants(
    client: httpx.Client,
    runtime: Runtime,
    env: dict[str, str],
    database: str,
    endpoint: FakeEndpoint,
    url: str,
) -> None:

    for slug in ("acme", "other"):
        runtime.hub.register_tenant(slug, slug.title(), BOX)
    assert put(client, "acme", endpoint_url=url, allowed_hosts=["127.0.0.1"]).status_code == 200
    assert put(client, "other").status_code == 200
    publish(CaliperStream(env), 4, slug="acme")
    stop = threading.Event()
    projection = threading.Thread(
        target=run_projection,
        args=("caliper_deliveries", env, database, stop),
        kwargs={"lease_ttl": 1.5},
        daemon=True,
    )
    projection.start()
    try:
        with delivering(env):

            def delivered() -> dict[str, object] | None:
                report = client.get(
                    "/api/v1/admin/tenants/acme/caliper/deliveries", headers=admin()
                ).json()
                done = report["summary"].get("delivered", {}).get("events", 0)
                return report if done == 4 else None

            report = wait_for(delivered, "the delivery in the read model")
    finally:
        stop.set()
        projection.join(timeout=30)
    rows = report["deliveries"]
    assert report["summary"] == {"delivered": {"deliveries": len(rows), "events": 4}}
    for row in rows:
        assert (row["status"], row["attempts"], row["last_status_code"], row["target"]) == (
            "delivered",
            1,
            200,
            url,
        )
    assert sum(row["events"] for row in rows) == 4
    assert min(r["first_seq"] for r in rows) == 1
    assert max(r["last_seq"] for r in rows) == 4
    other = client.get("/api/v1/admin/tenants/other/caliper/deliveries", headers=admin())
    assert other.json() == {"tenant": "other", "summary": {}, "deliveries": []}
    dead = client.get(
        "/api/v1/admin/tenants/acme/caliper/deliveries?status=dead-lettered", headers=admin()
    )
    assert dead.json()["deliveries"] == []
    # The read model is derived data: rebuilt from the log, it reads the same.
    assert rebuild("caliper_deliveries", env, database, lease_ttl=1.5) == 2
    again = client.get("/api/v1/admin/tenants/acme/caliper/deliveries", headers=admin())
    assert again.json() == report


def test_a_spark_sign_in_and_a_graded_webhook_through_http_become_caliper_events(
    client: httpx.Client, runtime: Runtime, env: dict[str, str]
) -> None:

    runtime.hub.register_tenant("acme", "Acme", runtime.box)
    spark = connect_spark(runtime.hub, runtime.box, "acme", "https://spark.example/api")
    assert put(client, "acme").status_code == 200
    token = sso_token(spark.sso_secret, sub="u-42", email="kim@example.org", given_name="Kim")
    with running(SPEC, env=env):
        signed_in = client.get("/t/acme/spark/sso", params={"token": token})
        assert signed_in.status_code == 303
        body = json.dumps(
            submission_payload(user="u-42", assignment="a-1", course="c-1", grade=77)
        ).encode()
        webhook = client.post(
            "/t/acme/spark/webhook/submission",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Spark-Signature": sign(body, spark.webhook_secret),
            },
        )
        assert webhook.status_code == 202, webhook.text
        found = on_stream(CaliperStream(env), 3)
    login, submitted, graded = (p.envelope["data"][0] for p in found)
    assert [e["type"] for e in (login, submitted, graded)] == [
        "SessionEvent",
        "AssignableEvent",
        "GradeEvent",
    ]
    # The same person in both: the submission's Spark user is found through its identity.
    assert login["actor"]["id"] == submitted["actor"]["id"]
    assert login["actor"]["name"] == "Kim"
    assert submitted["group"]["id"] == "urn:hub:acme:course:spark:c-1"
    assert graded["generated"]["scoreGiven"] == 77.0
