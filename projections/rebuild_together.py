"""Rebuilding several projections from one reading of their logs (`hub projections rebuild`
with several names, and the rebuild figure of issue 4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import ExitStack

from infra.lease import DEFAULT_TTL
from infra.sql import make_engine
from projections import registry
from projections.pump import catch_up, catch_up_together
from projections.rebuild import (
    REBUILD_PAGE_SIZE,
    ProgressCallback,
    RebuildProgress,
    begin_building,
    keeping,
    rebuild_lease,
    switch_to,
)
from projections.upstreams import open_readers


def rebuild_together(
    names: Sequence[str],
    env: Mapping[str, str],
    database_url: str,
    *,
    progress: ProgressCallback | None = None,
    page_size: int = REBUILD_PAGE_SIZE,
    lease_ttl: float = DEFAULT_TTL,
) -> dict[str, int]:
    """`rebuild` each projection of `names`; their new live versions, by name.

    Each upstream log is read once, and each of its events decoded once, for all the
    projections that follow it (reading and decoding cost a rebuild as much as applying
    did, once per projection); each projection then applies the page in its own
    transaction. Then, one projection at a time, what was recorded meanwhile and the
    switch, as `rebuild` does. Every lease is taken first: `RebuildInProgressError` if
    any projection is being rebuilt elsewhere (and none is rebuilt).
    """
    specs = [registry.get(name) for name in dict.fromkeys(names)]
    page_size = min([page_size, *(spec.page_size for spec in specs if spec.page_size)])
    with ExitStack() as held:
        leases = [held.enter_context(rebuild_lease(env, s.name, lease_ttl)) for s in specs]
        check = held.enter_context(keeping(leases))  # from now: making tables takes time too
        engine = make_engine(database_url)
        held.callback(engine.dispose)
        building = [begin_building(spec, engine) for spec in specs]
        upstreams = list(dict.fromkeys(u for spec in specs for u in spec.upstreams))
        with open_readers(upstreams, env) as apps:
            track = RebuildProgress(apps, check, progress)
            for app in apps:
                after_page = track.page_of(app.name)
                followers = [b.projection for b in building if app.name in b.spec.upstreams]
                catch_up_together(followers, app, page_size=page_size, after_page=after_page)
                for projection in followers:
                    catch_up(projection, app, page_size=page_size, after_page=after_page)
            by_name = {app.name: app for app in apps}
            reached: dict[str, int] = {}
            for b in building:
                own = [by_name[upstream] for upstream in b.spec.upstreams]
                for upstream, position in switch_to(b, engine, own, page_size=page_size).items():
                    reached[upstream] = max(position, reached.get(upstream, 0))
        if progress is not None:
            progress(sum(reached.values()), sum(reached.values()))
        return {b.spec.name: b.version for b in building}
