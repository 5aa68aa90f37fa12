"""The library's own recorder contract tests, against the JetStream recorders on a real server."""

from __future__ import annotations

import os
from typing import Any

import pytest
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    ProcessRecorder,
    TrackingRecorder,
)
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    InfrastructureFactoryTestCase,
    NonInterleavingNotificationIDsBaseCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)
from eventsourcing.utils import Environment

from infra.jetstream import JetStreamFactory
from infra.jetstream.recorders import (
    JetStreamAggregateRecorder,
    JetStreamApplicationRecorder,
    JetStreamProcessRecorder,
    JetStreamTrackingRecorder,
)
from tests.conftest import drop_streams, new_prefix


class _OnNats:
    """Each test gets its own streams, so notification ids start at 1."""

    nats_url: str

    @pytest.fixture(autouse=True)
    def _nats(self, nats_url: str) -> Any:
        type(self).nats_url = nats_url
        self.prefix = new_prefix()
        yield
        drop_streams(nats_url, self.prefix)

    def factory(self) -> JetStreamFactory:
        return JetStreamFactory(
            Environment("contract", {"NATS_URL": self.nats_url, "NATS_STREAM_PREFIX": self.prefix})
        )


class TestAggregateRecorder(_OnNats, AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return self.factory().aggregate_recorder()


class TestSnapshotRecorder(_OnNats, AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return self.factory().aggregate_recorder("snapshots")


class TestApplicationRecorder(_OnNats, ApplicationRecorderTestCase[ApplicationRecorder]):
    def create_recorder(self) -> ApplicationRecorder:
        return self.factory().application_recorder()

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestNonInterleavingNotificationIDs(_OnNats, NonInterleavingNotificationIDsBaseCase):
    def create_recorder(self) -> ApplicationRecorder:
        return self.factory().application_recorder()


class TestTrackingRecorder(_OnNats, TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        return self.factory().tracking_recorder()


class TestProcessRecorder(_OnNats, ProcessRecorderTestCase):
    def create_recorder(self) -> ProcessRecorder:
        return self.factory().process_recorder()


class _TrackingSubclass(JetStreamTrackingRecorder):
    pass


class TestInfrastructureFactory(_OnNats, InfrastructureFactoryTestCase[JetStreamFactory]):
    def setUp(self) -> None:
        self.env = Environment(
            "contract",
            {
                "PERSISTENCE_MODULE": "infra.jetstream",
                "NATS_URL": self.nats_url,
                "NATS_STREAM_PREFIX": self.prefix,
            },
        )
        super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        os.environ.pop("CIPHER_KEY", None)

    def expected_factory_class(self) -> type[JetStreamFactory]:
        return JetStreamFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return JetStreamAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return JetStreamApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return JetStreamTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return _TrackingSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return JetStreamProcessRecorder


del AggregateRecorderTestCase
del ApplicationRecorderTestCase
del NonInterleavingNotificationIDsBaseCase
del TrackingRecorderTestCase
del ProcessRecorderTestCase
del InfrastructureFactoryTestCase
