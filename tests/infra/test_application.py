"""The library's application-level test cases, and the hub's own application, on JetStream.

The library's cases build their applications from `os.environ`, as its own
PostgreSQL and SQLite suites do: `setUp` points PERSISTENCE_MODULE at
`infra.jetstream` with a fresh stream prefix (so notification ids start at 1),
`tearDown` removes the variables and the streams.
"""

from __future__ import annotations

import os
import warnings
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.tests.application import ApplicationTestCase, ExampleApplicationTestCase
from eventsourcing.utils import get_topic

from hub.application import Hub, TenantExistsError
from hub.domain.tenants import Tenant, tenant_id
from infra.jetstream.factory import JetStreamFactory, wire_for
from infra.jetstream.recorders import JetStreamApplicationRecorder
from infra.jetstream.subjects import Subjects
from infra.nats_client import NatsConnection
from infra.secrets import SecretBox
from tests.conftest import drop_streams, new_prefix

_ENV_KEYS = ("PERSISTENCE_MODULE", "NATS_URL", "NATS_STREAM_PREFIX")


class _OnJetStream:
    """Each test: the environment selects JetStream, on streams of its own."""

    nats_url: str
    prefix: str

    @pytest.fixture(autouse=True)
    def _nats(self, nats_url: str) -> None:
        type(self).nats_url = nats_url

    def setUp(self) -> None:
        self.prefix = new_prefix()
        self._saved_env = {key: os.environ.get(key) for key in _ENV_KEYS}
        os.environ["PERSISTENCE_MODULE"] = "infra.jetstream"
        os.environ["NATS_URL"] = self.nats_url
        os.environ["NATS_STREAM_PREFIX"] = self.prefix
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        drop_streams(self.nats_url, self.prefix)


class TestExampleApplication(_OnJetStream, ExampleApplicationTestCase):
    expected_factory_topic = get_topic(JetStreamFactory)

    def test_factory_topic_is_the_jetstream_module(self) -> None:
        assert self.expected_factory_topic == "infra.jetstream.factory:JetStreamFactory"


class TestApplication(_OnJetStream, ApplicationTestCase):
    def test_application_log(self) -> None:
        # The library's case records the DeprecationWarning with catch_warnings(record=True),
        # which keeps the active filters: under pytest's `-W error` the warning would be
        # raised instead of recorded. Nothing to do with JetStream: let it be recorded.
        with warnings.catch_warnings():
            warnings.simplefilter("always", DeprecationWarning)
            super().test_application_log()

    def test_applications_use_jetstream(self) -> None:
        # The cases above say `Application()`: check that this really means JetStream here.
        app = Application[UUID]()
        try:
            assert isinstance(app.factory, JetStreamFactory)
            assert isinstance(app.recorder, JetStreamApplicationRecorder)
            assert app.recorder.stream == f"{self.prefix.upper()}_EVENTS"
        finally:
            app.close()


del ApplicationTestCase
del ExampleApplicationTestCase


# -- the hub's own application, with `<tenant>.<Type>.<hex>` ids ------------------------------


@pytest.fixture
def hub_env(nats_url: str, stream_prefix: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "infra.jetstream",
        "NATS_URL": nats_url,
        "NATS_STREAM_PREFIX": stream_prefix,
    }


@pytest.fixture
def box() -> SecretBox:
    return SecretBox.from_text("test key")


def test_hub_records_tenants_on_tenant_scoped_subjects(
    hub_env: dict[str, str], stream_prefix: str, nats_url: str, box: SecretBox
) -> None:
    hub = Hub(env=hub_env)
    acme = hub.register_tenant("acme", "Acme School", box)
    beta = hub.register_tenant("beta-district", "Beta District", box)
    assert (acme.position, beta.position) == (1, 2)

    with pytest.raises(TenantExistsError):
        hub.register_tenant("acme", "Acme again", box)

    # A fresh application (another process) reads the tenant back from the stream.
    other = Hub(env=hub_env)
    tenant = other.tenant("acme")
    assert isinstance(tenant, Tenant)
    assert tenant.id == tenant_id("acme")
    assert tenant.id.startswith("acme.Tenant.")
    assert (tenant.slug, tenant.name, tenant.version) == ("acme", "Acme School", 1)
    assert box.decrypt(tenant.webhook_secret_sealed, context="acme:webhook") == acme.webhook_secret
    assert other.tenant("nobody") is None

    # The notification log carries the string ids and the stream sequences.
    notifications = other.notification_log.select(start=1, limit=10)
    assert [(n.id, n.originator_id, n.originator_version) for n in notifications] == [
        (1, tenant_id("acme"), 1),
        (2, tenant_id("beta-district"), 1),
    ]

    # The server can filter by tenant and by type, because the id is in the subject.
    subjects = Subjects(prefix=stream_prefix, app="hub")
    connection = NatsConnection.shared(nats_url)
    wire = wire_for(connection)
    only_acme = connection.run(
        lambda: wire.direct_all(subjects.events_stream, subject=subjects.all_events(tenant="acme"))
    )
    assert [m.subject for m in only_acme] == [f"{stream_prefix}.ev.hub.{tenant_id('acme')}"]
    tenants = connection.run(
        lambda: wire.direct_all(
            subjects.events_stream, subject=f"{stream_prefix}.ev.hub.*.Tenant.*"
        )
    )
    assert [m.seq for m in tenants] == [1, 2]
    hub.close()
    other.close()


def test_hub_optimistic_concurrency_and_snapshots_with_string_ids(
    hub_env: dict[str, str], box: SecretBox
) -> None:
    hub = Hub(env=hub_env)
    hub.register_tenant("acme", "Acme School", box)
    tenant = hub.tenant("acme")
    assert tenant is not None
    tenant.trigger_event(Tenant.Event)
    hub.save(tenant)

    # A stale copy of the aggregate cannot record: the library's conflict error.
    stale: Any = hub.repository.get(tenant.id, version=1)
    stale.trigger_event(Tenant.Event)
    with pytest.raises(IntegrityError):
        hub.save(stale)
    assert hub.repository.get(tenant.id).version == 2
    assert [e.originator_version for e in hub.events.get(tenant.id)] == [1, 2]

    # Snapshots of string ids (the Hub has no snapshot class yet: use the recorder).
    snapshots = hub.factory.aggregate_recorder("snapshots")
    snapshots.insert_events([StoredEvent(tenant.id, 2, "hub.domain.tenants:Tenant", b"{}")])
    found = snapshots.select_events(tenant.id, desc=True, limit=1)
    assert [(s.originator_id, s.originator_version) for s in found] == [(tenant.id, 2)]
    hub.close()
