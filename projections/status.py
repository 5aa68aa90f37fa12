"""Where each projection stands (position, head, lag, rebuild), and waiting for a position."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from time import monotonic, sleep
from typing import Any

from eventsourcing.application import Application
from sqlalchemy import Engine, inspect

from projections import registry, schema
from projections.upstreams import head, open_reader


@dataclass(frozen=True)
class RebuildProgress:
    """A rebuild under way (or left unfinished): the version it builds and how far it is
    (in the projection's first upstream; `UpstreamStatus.rebuilt` has each)."""

    version: int
    position: int


@dataclass(frozen=True)
class UpstreamStatus:
    """How far a projection's live version is in one upstream application's log."""

    application: str
    position: int
    head: int
    lag: int
    rebuilt: int | None = None
    """The position of the version being rebuilt, if a rebuild is under way."""


@dataclass(frozen=True)
class ProjectionStatus:
    """One projection: its live version (None before its first run) and how far behind it is.

    `position` and `head` are those of its first upstream (its only one, for most);
    `lag` counts the events it has still to apply from every upstream; `upstreams` has
    the details of each.
    """

    name: str
    live_version: int | None
    position: int
    head: int
    lag: int
    rebuilding: RebuildProgress | None
    upstreams: tuple[UpstreamStatus, ...] = ()


def projection_statuses(app: Application[Any], engine: Engine) -> list[ProjectionStatus]:
    """The status of every registered projection against the heads of its upstream logs.

    `app` is any application of the hub (the `hub` one, usually): it is used for its
    own upstream, and its environment opens readers of the others.
    """
    ready = inspect(engine).has_table(schema.versions.name)
    upstream_names = sorted({u for n in registry.names() for u in registry.get(n).upstreams})
    heads = _heads(app, upstream_names)
    statuses = []
    for name in registry.names():
        found = None
        live: dict[str, int] = {}
        built: dict[str, int] | None = None
        if ready:
            with engine.connect() as conn:
                found = schema.read_versions(conn, name)
                if found is not None:
                    live = schema.positions(conn, name, found.live)
                    if found.building is not None:
                        built = schema.positions(conn, name, found.building)
        statuses.append(_status(name, found, live, built, heads))
    return statuses


def _heads(app: Application[Any], names: list[str]) -> dict[str, int]:
    found = {}
    for name in names:
        if name == app.name:
            found[name] = head(app)
        else:
            with closing(open_reader(name, app.env)) as reader:
                found[name] = head(reader)
    return found


def _status(
    name: str,
    found: schema.Versions | None,
    live: dict[str, int],
    built: dict[str, int] | None,
    heads: dict[str, int],
) -> ProjectionStatus:
    details = tuple(
        UpstreamStatus(
            application=upstream,
            position=live.get(upstream, 0),
            head=heads[upstream],
            lag=max(heads[upstream] - live.get(upstream, 0), 0),
            rebuilt=None if built is None else built.get(upstream, 0),
        )
        for upstream in registry.get(name).upstreams
    )
    first = details[0]
    rebuilding = None
    if found is not None and found.building is not None:
        rebuilding = RebuildProgress(found.building, first.rebuilt or 0)
    return ProjectionStatus(
        name=name,
        live_version=None if found is None else found.live,
        position=first.position,
        head=first.head,
        lag=sum(d.lag for d in details),
        rebuilding=rebuilding,
        upstreams=details,
    )


def live_position(engine: Engine, name: str, upstream: str | None = None) -> int | None:
    """The position of the live version of projection `name` in `upstream`'s log (its
    first upstream by default); None if it has none."""
    application_name = upstream or registry.get(name).upstreams[0]
    return schema.read_live(
        engine,
        name,
        lambda conn, version: schema.position(conn, name, version, application_name),
        missing=None,
    )


def wait_for(
    engine: Engine, name: str, position: int, timeout: float = 5.0, *, upstream: str | None = None
) -> None:
    """Return once projection `name` has applied `position` of `upstream`'s log (its first
    upstream by default): read your own writes.

    Polls the live version's tracking row, 10 ms at first, backing off to 200 ms;
    raises `TimeoutError` after `timeout` seconds.
    """
    deadline = monotonic() + timeout
    interval = 0.01
    while True:
        reached = live_position(engine, name, upstream)
        if reached is not None and reached >= position:
            return
        remaining = deadline - monotonic()
        if remaining <= 0:
            where = upstream or registry.get(name).upstreams[0]
            msg = (
                f"projection {name} did not reach position {position} of {where} within {timeout}s"
            )
            raise TimeoutError(msg)
        sleep(min(interval, remaining))
        interval = min(interval * 2, 0.2)
