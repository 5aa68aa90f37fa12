"""Webhook subscriptions and Spark course syncs in the integration health read model (what
`/admin/ops/integrations`, `/admin/ops/dead-letters` and `/admin/ops/sync` show), on real
parts: the webhooks connector with a failing loopback subscriber, the course sync against
the fake Spark API, the `integration_health` projection running on SQLite (and PostgreSQL
when HUB_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine

from connectors.course_sync import sync_tenant
from connectors.deliveries import redrive_dead
from connectors.runner import UpstreamLog
from connectors.spark_api import SparkApiError, SparkClients
from connectors.webhooks import CONNECTOR, NAME
from hub.application import Hub
from hub.domain.deliveries import DEAD
from hub.webhooks.subscriptions import Registries
from infra.sql import make_engine
from projections import registry
from projections.integration_health import (
    COURSE_SYNC,
    KINDS,
    IntegrationHealth,
    SyncRun,
    dead_letters,
    integrations,
    sync_runs,
)
from tests.connectors.spark_fake import FakeSpark
from tests.connectors.subscriber import FAIL, Subscriber
from tests.connectors.test_course_sync import TENANT, clients, connected, fake, spark_url
from tests.connectors.test_webhooks import registries, subscribe, subscriber, tenant, url
from tests.connectors.webhook_world import delivering, quest, settled
from tests.connectors.world import wait_for
from tests.projections.conftest import fresh_database
from tests.projections.helpers import running

__all__ = ["clients", "connected", "fake", "registries", "spark_url", "subscriber", "url"]
WEBHOOK = KINDS[CONNECTOR]
SPARK = KINDS["spark-grades"]


@pytest.fixture
def health(env: dict[str, str], database_url: str, tmp_path: Path) -> Iterator[Engine]:
    """The `integration_health` projection running on a fresh database; its engine."""
    databases = fresh_database(database_url, tmp_path)
    sql_url = next(databases)()
    engine = make_engine(sql_url)
    try:
        with running(registry.get("integration_health"), env, sql_url):
            yield engine
    finally:
        engine.dispose()
        next(databases, None)


def integration(engine: Engine, tenant: str, kind: str) -> list[IntegrationHealth]:
    return [i for i in integrations(engine) if (i.tenant, i.kind) == (tenant, kind)]


def test_a_failing_webhook_subscriber_shows_its_error_and_dead_letter_then_is_redriven(
    env: dict[str, str],
    hub: Hub,
    registries: Registries,
    subscriber: Subscriber,
    url: str,
    health: Engine,
) -> None:
    slug = tenant(registries)
    made = subscribe(registries, slug, url, "Quest.Synced")
    subscriber.set(FAIL, status=410)  # a 4xx: dead-lettered at once
    with delivering(env):
        quest(hub, slug, "bio")
        (dead,) = settled(env, 1, DEAD)

    (letter,) = wait_for(
        lambda: [d for d in dead_letters(health) if d.delivery_id == dead.id],
        "the webhook's dead letter in the read model",
    )
    assert (letter.tenant, letter.connector, letter.kind) == (slug, CONNECTOR, WEBHOOK)
    assert letter.name == made.subscription.id
    assert (letter.attempts, letter.last_status_code) == (1, 410)

    (row,) = integration(health, slug, WEBHOOK)
    assert row.name == made.subscription.id
    assert (row.pending, row.dead) == (0, 1)
    assert row.last_error.startswith("HTTP 410")
    assert row.last_error_at is not None
    assert row.last_success_at is None
    assert (row.ok_last_hour, row.failed_last_hour, row.error_rate) == (0, 1, 1.0)

    # The dead-letters page's "redrive all of a connector" (`OpsBackend.redrive`).
    with closing(UpstreamLog(NAME, env)) as app:
        assert redrive_dead(app, CONNECTOR, by="test") == [dead.id]
    rearmed = wait_for(
        lambda: [i for i in integration(health, slug, WEBHOOK) if i.pending == 1],
        "the redriven delivery pending again",
    )
    assert rearmed[0].dead == 0
    assert [d for d in dead_letters(health) if d.delivery_id == dead.id] == []


def test_a_course_sync_failing_for_one_course_shows_on_the_sync_runs(
    connected: Hub, clients: SparkClients, fake: FakeSpark, health: Engine
) -> None:
    sync_tenant(connected, clients, TENANT)
    del fake.assignments["c-civ"]  # the second course's assignments answer 404
    with pytest.raises(SparkApiError) as caught:
        sync_tenant(connected, clients, TENANT)

    def both_runs() -> list[SyncRun] | None:
        runs = sync_runs(health)
        return runs if len(runs) == 2 else None

    failed, succeeded = wait_for(both_runs, "both course sync runs in the read model")
    assert (failed.tenant, failed.connection, failed.mode) == (TENANT, COURSE_SYNC, "courses")
    assert failed.outcome == "failed"
    assert failed.error == str(caught.value)
    assert "/api/courses/c-civ/assignments" in failed.error
    assert (succeeded.connection, succeeded.outcome, succeeded.error) == (
        COURSE_SYNC,
        "succeeded",
        "",
    )
    assert json.loads(succeeded.stats) == {
        "quests": {"created": 2, "updated": 0, "unchanged": 0},
        "tasks": {"created": 3, "updated": 0, "unchanged": 0},
    }
    assert failed.job_id != succeeded.job_id

    (row,) = integration(health, TENANT, SPARK)
    assert row.name == "spark"
    assert row.last_error == failed.error
    assert row.last_success_at is not None
    assert row.last_error_at is not None
    assert (row.ok_last_hour, row.failed_last_hour, row.error_rate) == (1, 1, 0.5)
