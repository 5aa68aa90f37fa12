"""`?as_of=`: a portfolio as it stood at a moment, replayed from the log."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import pytest

from connectors.domain import progress_id as connectors_progress_id
from hub.bootstrap import eventsourcing_env
from hub.pages.portfolio_page import AsOfInvalidError, parse_as_of
from projections.portfolio import portfolio
from projections.portfolio_asof import portfolio_as_of, progress_id
from tests.hub.pages.site import Site


@pytest.fixture(scope="module")
def history(site: Site) -> tuple[str, datetime]:
    """Noa completes one task; then (after the moment returned) a second, and the course
    is renamed."""
    noa = site.world.learner("acme", "u-noa", "Noa", "Levi")
    site.course("acme", "c-well", "Wellness", ("a-run", "Run a mile wellness", 1))
    site.course("acme", "c-well", "Wellness", ("a-yoga", "Yoga week wellness", 2))
    site.complete("acme", noa, "a-run", text="first")
    moment = datetime.now(UTC)
    site.complete("acme", noa, "a-yoga", text="second")
    site.world.quest("acme", "c-well", "Wellness and Sport")
    site.settle()
    return noa, moment


def test_as_of_a_moment_shows_what_stood_then(
    site: Site, http: httpx.Client, history: tuple[str, datetime]
) -> None:
    noa, moment = history
    headers = site.headers("acme", noa)
    now = http.get("/portfolio", headers=headers).text
    assert "Run a mile wellness" in now
    assert "Yoga week wellness" in now
    assert "Spark: Wellness and Sport" in now
    then = http.get(f"/portfolio?as_of={quote(moment.isoformat())}", headers=headers)
    assert then.status_code == 200, then.text
    assert "Run a mile wellness" in then.text
    assert "Yoga week wellness" not in then.text
    assert "Spark: Wellness</h2>" in then.text  # the course's title then
    assert f"as it stood on {moment.isoformat()}" in then.text


def test_as_of_a_day_before_anything_shows_nothing(
    site: Site, http: httpx.Client, history: tuple[str, datetime]
) -> None:
    page = http.get("/portfolio?as_of=2025-01-15", headers=site.headers("acme", history[0]))
    assert page.status_code == 200
    assert "Nothing here yet." in page.text
    assert "Run a mile" not in page.text


def test_the_replay_up_to_now_equals_the_live_read_model(
    site: Site, history: tuple[str, datetime]
) -> None:
    noa = history[0]
    env = eventsourcing_env(site.runtime.settings, site.runtime.nats_url)
    replayed = portfolio_as_of(env, "acme", noa, datetime.now(UTC))
    assert replayed is not None
    assert replayed == portfolio(site.engine, "acme", noa)
    assert portfolio_as_of(env, "beta", noa, datetime.now(UTC)) is None  # not beta's learner


@pytest.mark.parametrize("value", ["yesterday", "2025-13-01", "15/01/2025"])
def test_a_bad_as_of_is_422(
    site: Site, http: httpx.Client, history: tuple[str, datetime], value: str
) -> None:
    response = http.get(f"/portfolio?as_of={value}", headers=site.headers("acme", history[0]))
    assert response.status_code == 422
    assert response.json()["type"] == "https://hub.example/problems/as-of-invalid"


def test_a_date_means_the_end_of_that_day_in_utc() -> None:
    assert parse_as_of("2025-01-15") == datetime(2025, 1, 15, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_as_of("2025-01-15T10:00:00") == datetime(2025, 1, 15, 10, tzinfo=UTC)
    with pytest.raises(AsOfInvalidError):
        parse_as_of("soon")


def test_the_progress_id_is_the_connector_s() -> None:
    learner = "acme.Learner.0123456789abcdef0123456789abcdef"
    assert progress_id("acme", learner) == connectors_progress_id("acme", learner)
