"""The projections the hub runs, by name: what the `hub` command line and the runners look up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.application import Application
from eventsourcing.projection import Projection

from hub.application import Hub
from projections.errors import UnknownProjectionError
from projections.event_counts import EventCountsProjection, EventCountsView
from projections.view import SqlView


@dataclass(frozen=True)
class ProjectionSpec:
    """A projection, the read model it writes and the application whose log it follows."""

    name: str
    projection_class: type[Projection[Any]]
    view_class: type[SqlView]
    application_class: type[Application[Any]] = Hub

    @property
    def application_name(self) -> str:
        return self.application_class.name


PROJECTIONS: dict[str, ProjectionSpec] = {
    spec.name: spec
    for spec in (ProjectionSpec("event_counts", EventCountsProjection, EventCountsView),)
}


def names() -> list[str]:
    return sorted(PROJECTIONS)


def get(name: str) -> ProjectionSpec:
    try:
        return PROJECTIONS[name]
    except KeyError:
        known = ", ".join(names())
        msg = f"no projection is named {name!r} (known: {known})"
        raise UnknownProjectionError(msg) from None
