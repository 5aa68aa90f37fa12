"""Where each projection stands (position, head, lag, rebuild), and waiting for a position."""

from __future__ import annotations

from dataclasses import dataclass
from time import monotonic, sleep
from typing import Any

from eventsourcing.application import Application
from sqlalchemy import Engine, inspect

from projections import registry, schema


@dataclass(frozen=True)
class RebuildProgress:
    """A rebuild under way (or left unfinished): the version it builds and how far it is."""

    version: int
    position: int


@dataclass(frozen=True)
class ProjectionStatus:
    """One projection: its live version (None before its first run) and how far behind it is."""

    name: str
    live_version: int | None
    position: int
    head: int
    lag: int
    rebuilding: RebuildProgress | None


def projection_statuses(hub_app: Application[Any], engine: Engine) -> list[ProjectionStatus]:
    """The status of every registered projection against the head of `hub_app`'s log."""
    head = hub_app.recorder.max_notification_id() or 0
    statuses = []
    ready = inspect(engine).has_table(schema.versions.name)
    for name in registry.names():
        application_name = registry.get(name).application_name
        found = rebuilding = None
        position = 0
        if ready:
            with engine.connect() as conn:
                found = schema.read_versions(conn, name)
                if found is not None:
                    position = schema.position(conn, name, found.live, application_name) or 0
                if found is not None and found.building is not None:
                    built = schema.position(conn, name, found.building, application_name)
                    rebuilding = RebuildProgress(found.building, built or 0)
        statuses.append(
            ProjectionStatus(
                name=name,
                live_version=None if found is None else found.live,
                position=position,
                head=head,
                lag=max(head - position, 0),
                rebuilding=rebuilding,
            )
        )
    return statuses


def live_position(engine: Engine, name: str) -> int | None:
    """The position of the live version of projection `name`, None if it has none."""
    application_name = registry.get(name).application_name
    return schema.read_live(
        engine,
        name,
        lambda conn, version: schema.position(conn, name, version, application_name),
        missing=None,
    )


def wait_for(engine: Engine, name: str, position: int, timeout: float = 5.0) -> None:
    """Return once projection `name` has applied `position` (read your own writes).

    Polls the live version's tracking row, 10 ms at first, backing off to 200 ms;
    raises `TimeoutError` after `timeout` seconds.
    """
    deadline = monotonic() + timeout
    interval = 0.01
    while True:
        reached = live_position(engine, name)
        if reached is not None and reached >= position:
            return
        remaining = deadline - monotonic()
        if remaining <= 0:
            msg = f"projection {name} did not reach position {position} within {timeout}s"
            raise TimeoutError(msg)
        sleep(min(interval, remaining))
        interval = min(interval * 2, 0.2)
