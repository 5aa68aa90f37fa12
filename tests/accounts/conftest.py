"""The accounts tests' hub: one per module (fresh streams, a data folder, uvicorn on
loopback); each test uses its own tenant, so tests never see each other's people."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hub.accounts.limits import SignInLimits
from hub.bootstrap import Runtime, build_runtime, eventsourcing_env
from hub.domain.learners import EmailIndex, Learner
from hub.domain.outbox import body_context
from hub.http import create_app, runtime_readiness
from infra.nats_client import NatsConnection
from infra.settings import Settings
from infra.sql import make_engine
from tests.conftest import drop_streams, new_prefix
from tests.hub.http.conftest import ADMIN_TOKEN
from tests.hub.http.live_server import live_server

PROBLEMS = "https://hub.example/problems/"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class World:
    runtime: Runtime
    app: FastAPI
    http: httpx.Client
    env: dict[str, str]
    now: datetime = T0

    @property
    def hub(self) -> Any:
        return self.runtime.hub

    def tenant(self) -> str:
        slug = f"t-{secrets.token_hex(4)}"
        self.hub.register_tenant(slug, slug, self.runtime.box)
        return slug

    def learner(self, tenant: str, key: str, *, role: str = "student") -> str:
        """A person signed in from Spark before (a learner and their email index)."""
        learner = Learner(
            tenant=tenant,
            source="spark",
            external_id=key,
            email=f"{key}@example.org",
            given_name=key.title(),
            family_name="Example",
            role=role,
        )
        self.hub.save(
            learner, EmailIndex(tenant=tenant, email=learner.email, learner_id=learner.id)
        )
        return str(learner.id)

    def cookie(self, person_id: str, role: str) -> dict[str, str]:
        cookie, _ = self.app.state.spark.signer.issue(
            tenant=person_id.split(".", 1)[0],
            learner_id=person_id,
            role=role,
            position=0,
            now=int(datetime.now(UTC).timestamp()),
        )
        return {"Cookie": f"hub_session={cookie}"}

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def later(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def events(self) -> list[Any]:
        """Every event of the hub's log, as stored (its topic and state)."""
        return list(self.hub.recorder.select_notifications(None, 100_000))

    def mails(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's queued messages, opened as the outbox's sender opens them."""
        found = []
        for notification in self.events():
            if notification.topic.endswith(
                "OutboxMessage.Queued"
            ) and notification.originator_id.startswith(f"{tenant}."):
                event = self.hub.mapper.to_domain_event(notification)
                body = self.runtime.box.decrypt(event.body_sealed, context=body_context(tenant))
                found.append({"kind": event.kind, "to": event.to, "body": body})
        return found

    def token_in_last_mail(self, tenant: str) -> str:
        body = self.mails(tenant)[-1]["body"]
        return body.split("token=", 1)[1].split()[0]


@pytest.fixture(scope="module")
def world(nats_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    prefix = new_prefix()
    data = tmp_path_factory.mktemp("accounts")
    settings = Settings(data_dir=data, stream_prefix=prefix)
    runtime = build_runtime(settings, nats_url)
    engine = make_engine(f"sqlite:///{data / 'ready.sqlite3'}")
    app = create_app(runtime, readiness=runtime_readiness(runtime, engine), admin_token=ADMIN_TOKEN)
    env = {**eventsourcing_env(settings, nats_url), "HUB_DATA_DIR": str(data)}
    made = World(runtime, app, httpx.Client(), env)
    app.state.accounts.clock = lambda: made.now
    app.state.accounts.limits = SignInLimits(per_address=1000)  # every test signs in from here
    with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        made.http = http
        yield made
    runtime.hub.close()
    engine.dispose()
    connection = NatsConnection.shared(nats_url)
    with suppress(Exception):
        connection.run(
            lambda: connection.client.jetstream().delete_key_value(f"{prefix}_leases"), timeout=10
        )
    drop_streams(nats_url, prefix)


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEMS + slug
    return body


def data_dir(world: World) -> Path:
    return Path(world.env["HUB_DATA_DIR"])
