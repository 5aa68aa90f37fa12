"""The library's tracking recorder contract, on the SQL view base (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.persistence import TrackingRecorder
from eventsourcing.tests import persistence as contract
from sqlalchemy import Engine

from infra.sql import make_engine
from projections.view import SqlView
from tests.projections.conftest import fresh_database

TrackingRecorderTestCase = contract.TrackingRecorderTestCase


class ContractView(SqlView):
    projection_name = "contract"


class _OnSql:
    base_url: str
    engine: Engine

    @pytest.fixture(autouse=True)
    def _database(self, tmp_path: Path) -> Iterator[None]:
        for new in fresh_database(self.base_url, tmp_path):
            self.engine = make_engine(new())
            yield
            self.engine.dispose()

    def create_recorder(self) -> TrackingRecorder:
        view = ContractView(self.engine)
        view.create_tables()
        return view


class TestSqliteTracking(_OnSql, TrackingRecorderTestCase):
    base_url = "sqlite:///unused"


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get("HUB_TEST_DATABASE_URL"), reason="HUB_TEST_DATABASE_URL is not set"
)
class TestPostgresTracking(_OnSql, TrackingRecorderTestCase):
    base_url = os.environ.get("HUB_TEST_DATABASE_URL", "")


del TrackingRecorderTestCase
