"""Following several logs live: what arrives from each, in each log's order; failures surface."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Tracking

from projections.follow import MergedSubscription
from projections.upstreams import reader_class


class Note(Aggregate):
    @event("Written")
    def __init__(self, text: str) -> None:
        self.text = text


class Position:
    """A tracking recorder stand-in: where the view is in each upstream."""

    def __init__(self, **positions: int) -> None:
        self.positions = positions

    def max_tracking_id(self, application_name: str) -> int | None:
        return self.positions.get(application_name)


@pytest.fixture
def apps() -> Iterator[list[Application[Any]]]:
    made = [reader_class(name)({"PERSISTENCE_MODULE": "eventsourcing.popo"}) for name in ("a", "b")]
    yield made
    for app in made:
        app.close()


def take_all(merged: MergedSubscription, count: int) -> list[tuple[Any, Tracking]]:
    items: list[tuple[Any, Tracking]] = []
    for _ in range(50):
        items += merged.take(timeout=0.1, limit=100)
        if len(items) >= count:
            break
    return items


def test_events_of_every_upstream_after_the_views_position(apps: list[Application[Any]]) -> None:
    a, b = apps
    for n in range(3):
        a.save(Note(f"a{n}"))
        b.save(Note(f"b{n}"))
    with MergedSubscription(apps, Position(a=1)) as merged:
        b.save(Note("b3"))
        items = take_all(merged, 6)
    assert len(items) == 6
    by_app: dict[str, list[tuple[str, int]]] = {"a": [], "b": []}
    for domain_event, tracking in items:
        by_app[tracking.application_name].append((domain_event.text, tracking.notification_id))
    assert by_app == {
        "a": [("a1", 2), ("a2", 3)],
        "b": [("b0", 1), ("b1", 2), ("b2", 3), ("b3", 4)],
    }


def test_a_failing_upstream_fails_take(
    apps: list[Application[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = apps
    a.save(Note("fine"))
    b.save(Note("broken"))

    def undecodable(_: object) -> None:
        msg = "cannot decode"
        raise ValueError(msg)

    monkeypatch.setattr(b.mapper, "to_domain_event", undecodable)
    with (
        MergedSubscription(apps, Position()) as merged,
        pytest.raises(ValueError, match="cannot decode"),
    ):
        take_all(merged, 2)


def test_take_waits_at_most_its_timeout(apps: list[Application[Any]]) -> None:
    with MergedSubscription(apps, Position()) as merged:
        assert merged.take(timeout=0.01, limit=10) == []
