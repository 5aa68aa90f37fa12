"""The SIS connector framework: cron schedules, the sync engine with the CSV-folder and the
REST-pull connectors (pulling from the hub's own publisher over loopback), retries with
backoff, failures recorded, and a job that finds nothing new recording nothing."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI, Response

from connectors.runner import Backoff
from connectors.sis.connections import (
    ConnectionExistsError,
    all_connections,
    connector_factory,
    register_connection,
)
from connectors.sis.cron import Cron, CronError
from connectors.sis.engine import SyncJob, run_sync
from connectors.sis.schedule import due_connections
from hub.domain.roster import SisConnection, sis_connection_id
from hub.http import create_app, runtime_readiness
from hub.roster.clients import FULL, register_client
from projections.roster import SqlRosterReadModel, records, wait_for
from tests.hub.http.live_server import live_server
from tests.roster.bundles import school, write_bundle
from tests.roster.conftest import RosterWorld, tenant

NO_WAIT = Backoff(initial=0.0, maximum=0.0)


def test_cron_fields_steps_ranges_and_lists() -> None:
    start = datetime(2026, 11, 22, 1, 58, tzinfo=UTC)
    assert Cron.parse("*/15 * * * *").next_after(start) == start.replace(hour=2, minute=0)
    assert Cron.parse("0 2 * * *").next_after(start.replace(hour=2)) == datetime(
        2026, 11, 23, 2, 0, tzinfo=UTC
    )
    assert Cron.parse("30 6 * * 1-5").next_after(start).isoweekday() == 1  # Monday
    assert Cron.parse("0 0 29 2 *").next_after(start).year == 2028
    for bad in ("* * *", "61 * * * *", "*/0 * * * *", "a * * * *"):
        with pytest.raises(CronError):
            Cron.parse(bad)


def sync(world: RosterWorld, slug: str, name: str, **options: object) -> SyncJob:
    return run_sync(
        world.runtime.hub,
        world.rosters,
        SqlRosterReadModel(world.engine),
        tenant=slug,
        name=name,
        connector_for=connector_factory(world.runtime.box),
        backoff=NO_WAIT,
        **options,  # type: ignore[arg-type]
    )


def settle(world: RosterWorld, job: SyncJob) -> None:
    if job.report is not None and job.report.position is not None:
        wait_for(world.engine, job.report.position, timeout=20)


def connection(world: RosterWorld, slug: str, name: str) -> SisConnection:
    found: SisConnection = world.runtime.hub.repository.get(sis_connection_id(slug, name))
    return found


def test_a_csv_folder_syncs_then_finds_nothing_new(world: RosterWorld, tmp_path: Path) -> None:
    slug = tenant()
    folder = tmp_path / "drop"
    folder.mkdir()
    with zipfile.ZipFile(write_bundle(tmp_path / "b.zip", school())) as bundle:
        bundle.extractall(folder)
    register_connection(
        world.runtime.hub,
        world.runtime.box,
        tenant=slug,
        name="district-csv",
        kind="oneroster-csv",
        config={"path": str(folder)},
        schedule="0 2 * * *",
    )
    dry = sync(world, slug, "district-csv", dry_run=True)
    assert dry.ok
    assert dry.report is not None
    assert dry.report.stats["users"].creates == 4
    assert connection(world, slug, "district-csv").cursor is None
    job = sync(world, slug, "district-csv")
    settle(world, job)
    assert job.ok, job.error
    assert [r.system for r in records(world.engine, slug, "users")] == ["district-csv"] * 4
    assert connection(world, slug, "district-csv").cursor == job.cursor
    hub_head = world.runtime.hub.recorder.max_notification_id()
    roster_head = world.rosters.recorder.max_notification_id()
    again = sync(world, slug, "district-csv")
    assert again.ok
    assert again.recorded == []
    assert world.runtime.hub.recorder.max_notification_id() == hub_head
    assert world.rosters.recorder.max_notification_id() == roster_head
    assert (slug, "district-csv") in all_connections(world.runtime.hub)


def test_a_connection_is_registered_once_with_a_valid_schedule(world: RosterWorld) -> None:
    slug = tenant()
    hub, box = world.runtime.hub, world.runtime.box
    register_connection(hub, box, tenant=slug, name="a", kind="oneroster-csv", config={})
    with pytest.raises(ConnectionExistsError):
        register_connection(hub, box, tenant=slug, name="a", kind="oneroster-csv", config={})
    with pytest.raises(ValueError, match="five fields"):
        register_connection(
            hub, box, tenant=slug, name="b", kind="oneroster-csv", config={}, schedule="daily"
        )
    with pytest.raises(ValueError, match="kind"):
        register_connection(hub, box, tenant=slug, name="c", kind="ftp", config={})


def test_a_bad_configuration_fails_the_job_and_is_recorded(world: RosterWorld) -> None:
    slug = tenant()
    register_connection(
        world.runtime.hub,
        world.runtime.box,
        tenant=slug,
        name="nowhere",
        kind="oneroster-csv",
        config={"path": "/no/such/folder"},
    )
    job = sync(world, slug, "nowhere")
    assert not job.ok
    assert "not a folder" in (job.error or "")
    assert connection(world, slug, "nowhere").last_run_at is not None


def test_a_schedule_is_due_after_its_next_time(world: RosterWorld) -> None:
    slug = tenant()
    made = register_connection(
        world.runtime.hub,
        world.runtime.box,
        tenant=slug,
        name="every-5",
        kind="oneroster-csv",
        config={},
        schedule="*/5 * * * *",
    )
    created = made.created_on
    due_soon = Cron.parse("*/5 * * * *").next_after(created)
    ours = [(c.tenant, c.name) for c in due_connections(world.runtime.hub, due_soon, {})]
    assert (slug, "every-5") in ours
    earlier = due_soon - timedelta(minutes=5)
    assert (slug, "every-5") not in [
        (c.tenant, c.name) for c in due_connections(world.runtime.hub, earlier, {})
    ]


@pytest.fixture(scope="module")
def publisher(world: RosterWorld) -> Iterator[str]:
    app = create_app(world.runtime, readiness=runtime_readiness(world.runtime, world.engine))
    app.state.roster.read_model = app.state.oneroster.read_model = SqlRosterReadModel(world.engine)
    with live_server(app) as url:
        yield url


def rest_connection(world: RosterWorld, url: str, source: str, slug: str, name: str) -> None:
    client = register_client(world.runtime.hub, source, "pull", (FULL,))
    register_connection(
        world.runtime.hub,
        world.runtime.box,
        tenant=slug,
        name=name,
        kind="oneroster-rest",
        config={
            "base_url": f"{url}/ims/oneroster/rostering/v1p2",
            "token_url": f"{url}/ims/oneroster/oauth2/token",
            "client_id": client.client_id,
            "allow_hosts": "127.0.0.1",
        },
        secret=client.client_secret,
    )


def test_a_rest_pull_copies_another_providers_roster(
    world: RosterWorld, publisher: str, tmp_path: Path
) -> None:
    source, slug = tenant(), tenant()
    world.runtime.hub.register_tenant(source, source, world.runtime.box)
    world.import_(write_bundle(tmp_path / "b.zip", school()), source)
    rest_connection(world, publisher, source, slug, "powerschool")
    job = sync(world, slug, "powerschool")
    settle(world, job)
    assert job.ok, (job.error, job.report and job.report.errors)
    for entity in ("orgs", "users", "classes", "enrollments"):
        pulled = {r.sourced_id: r.fields for r in records(world.engine, slug, entity)}
        original = {r.sourced_id: r.fields for r in records(world.engine, source, entity)}
        assert pulled.keys() == original.keys(), entity
    [sam] = [r for r in records(world.engine, slug, "users") if r.sourced_id == "s-1"]
    assert sam.fields["agentSourcedIds"] == "p-1"
    assert sam.system == "powerschool"
    roles = {
        r.fields["userSourcedId"]: r.fields["role"] for r in records(world.engine, slug, "roles")
    }
    assert roles["t-1"] == "teacher"
    assert job.cursor is not None
    again = sync(world, slug, "powerschool")
    assert again.mode == "delta"
    assert again.ok
    assert again.report is not None
    assert not again.report.changed


@pytest.fixture
def flaky(request: pytest.FixtureRequest) -> Iterator[tuple[str, list[int]]]:
    """A provider whose token endpoint fails `request.param` times, then answers 401."""
    calls: list[int] = []
    app = FastAPI()

    @app.post("/token")
    async def token() -> Response:
        calls.append(1)
        if len(calls) <= request.param:
            return Response(status_code=503)
        return Response(status_code=401)

    with live_server(app) as url:
        yield url, calls


def flaky_connection(world: RosterWorld, url: str, name: str) -> str:
    slug = tenant()
    register_connection(
        world.runtime.hub,
        world.runtime.box,
        tenant=slug,
        name=name,
        kind="oneroster-rest",
        config={
            "base_url": url,
            "token_url": f"{url}/token",
            "client_id": "x",
            "allow_hosts": "127.0.0.1",
        },
        secret="s",
    )
    return slug


@pytest.mark.parametrize("flaky", [2], indirect=True)
def test_an_unavailable_source_is_retried_with_backoff(
    world: RosterWorld, flaky: tuple[str, list[int]]
) -> None:
    url, calls = flaky
    job = sync(world, flaky_connection(world, url, "flaky"), "flaky")
    assert job.attempts == 3
    assert len(calls) == 3
    assert "credentials" in (job.error or "")  # the 401 after the 503s: not retried


@pytest.mark.parametrize("flaky", [10], indirect=True)
def test_five_failures_fail_the_job(world: RosterWorld, flaky: tuple[str, list[int]]) -> None:
    url, calls = flaky
    slug = flaky_connection(world, url, "down")
    job = sync(world, slug, "down")
    assert (job.attempts, len(calls)) == (5, 5)
    assert "SisUnavailableError" in (job.error or "")
    assert connection(world, slug, "down").last_run_at is not None


def test_a_rest_pull_refuses_a_host_it_was_not_allowed(world: RosterWorld, publisher: str) -> None:
    slug = tenant()
    register_connection(
        world.runtime.hub,
        world.runtime.box,
        tenant=slug,
        name="ssrf",
        kind="oneroster-rest",
        config={"base_url": publisher, "token_url": f"{publisher}/x", "client_id": "x"},
        secret="s",
    )
    job = sync(world, slug, "ssrf")
    assert not job.ok
    assert job.report is None
