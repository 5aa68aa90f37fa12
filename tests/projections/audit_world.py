"""The audit tests' world: the hub over HTTP, and one verdict of each kind sent through it.

An admin registers tenant `acme` (admin action), Spark sends it a signed submission
(accepted) and one with a wrong signature (rejected), and a tool calls its AGS line
items without a token (an LTI rejection). `midway` is a moment between the accepted
signal and the rejections, for the time range filters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from hub.audit import rejections
from hub.bootstrap import Runtime, build_runtime, eventsourcing_env
from hub.http import create_app, runtime_readiness
from hub.spark.connection import connect_spark
from infra.nats_client import NatsConnection
from infra.settings import Settings
from infra.sql import make_engine
from projections import registry, wait_for
from projections.audit_stream import AUDIT_UPSTREAM
from tests.connectors.parts import delete_leases
from tests.hub.http.conftest import ADMIN_TOKEN, admin
from tests.hub.http.live_server import live_server
from tests.hub.spark.signals import post_signed, submission
from tests.projections.helpers import running

TENANT = "acme"
FORGED_REQUEST_ID = "forged-request-1"
AGS = f"/t/{TENANT}/api/lti/ags/contexts/course-1/lineitems"


@dataclass(frozen=True)
class Verdicts:
    """Where each verdict landed: event log positions, audit stream positions, times."""

    admin_position: int
    accepted_position: int
    spark_rejection: int
    lti_rejection: int
    started: datetime
    midway: datetime
    ended: datetime
    hub_head: int
    audit_head: int


@dataclass
class AuditWorld:
    runtime: Runtime
    client: httpx.Client
    env: dict[str, str]
    database_url: str

    def send_verdicts(self) -> Verdicts:
        started = datetime.now(UTC)
        made = self.client.post(
            "/api/v1/admin/tenants", json={"slug": TENANT, "name": "Acme"}, headers=admin()
        )
        assert made.status_code == 201, made.text
        hub = self.runtime.hub
        admin_position = hub.recorder.max_notification_id() or 0
        spark = connect_spark(hub, self.runtime.box, TENANT, "https://spark.example/api")
        url = f"/t/{TENANT}/spark/webhook/submission"
        accepted = post_signed(self.client, url, submission(), spark.webhook_secret)
        assert accepted.status_code == 202, accepted.text
        midway = datetime.now(UTC)
        self.forge(FORGED_REQUEST_ID)
        no_token = self.client.get(AGS)
        assert no_token.status_code == 401, no_token.text
        connection = NatsConnection.shared(self.runtime.nats_url)
        spark_rejection, lti_rejection = rejections(
            connection, self.runtime.settings.stream_prefix, TENANT
        )
        assert (spark_rejection.kind, lti_rejection.kind) == ("submission", "lti_ags")
        return Verdicts(
            admin_position=admin_position,
            accepted_position=accepted.json()["position"],
            spark_rejection=spark_rejection.position,
            lti_rejection=lti_rejection.position,
            started=started,
            midway=midway,
            ended=datetime.now(UTC),
            hub_head=hub.recorder.max_notification_id() or 0,
            audit_head=lti_rejection.position,
        )

    def forge(self, request_id: str) -> int:
        """A Spark submission with a wrong signature: its audit stream position."""
        url = f"/t/{TENANT}/spark/webhook/submission"
        headers = {"X-Request-ID": request_id}
        forged = post_signed(self.client, url, submission(), "not-the-secret", **headers)
        assert forged.status_code == 401, forged.text
        connection = NatsConnection.shared(self.runtime.nats_url)
        found = rejections(connection, self.runtime.settings.stream_prefix, TENANT)
        return found[-1].position

    def project(self, verdicts: Verdicts) -> None:
        """Run the audit projection until it has applied every verdict."""
        engine = make_engine(self.database_url)
        try:
            with running(registry.get("audit"), self.env, self.database_url):
                wait_for(engine, "audit", verdicts.hub_head, timeout=30)
                wait_for(engine, "audit", verdicts.audit_head, timeout=30, upstream=AUDIT_UPSTREAM)
        finally:
            engine.dispose()


@pytest.fixture
def world(nats_url: str, stream_prefix: str, sql_url: str, tmp_path: Path) -> Iterator[AuditWorld]:
    with audit_world(nats_url, stream_prefix, sql_url, tmp_path) as made:
        yield made


@contextmanager
def audit_world(
    nats_url: str, stream_prefix: str, database_url: str, tmp_path: Path
) -> Iterator[AuditWorld]:
    settings = Settings(data_dir=tmp_path, stream_prefix=stream_prefix, database_url=database_url)
    runtime = build_runtime(settings, nats_url)
    engine = make_engine(database_url)
    app = create_app(runtime, readiness=runtime_readiness(runtime, engine), admin_token=ADMIN_TOKEN)
    try:
        with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
            yield AuditWorld(runtime, client, eventsourcing_env(settings, nats_url), database_url)
    finally:
        runtime.hub.close()
        engine.dispose()
        delete_leases(nats_url, stream_prefix)
