"""XP per pillar and in total, read from the portfolio's read model: all five pillars, always."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Connection, Engine, select

from hub.domain.rules import Pillar
from projections.portfolio_view import NAME, PortfolioView
from projections.schema import read_live

PILLARS: tuple[str, ...] = tuple(pillar.value for pillar in Pillar)


@dataclass(frozen=True)
class LearnerXp:
    """A learner's XP: `by_pillar` has every pillar (0 where none was earned), in the order
    of `PILLARS`; `total` is their sum."""

    by_pillar: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_pillar.values())


def learner_xp(engine: Engine, tenant: str, learner_id: str) -> LearnerXp:
    """The XP of `learner_id` in `tenant` (all zero for a learner without completions)."""
    return read_live(
        engine,
        NAME,
        lambda conn, version: _read(conn, version, tenant, learner_id),
        missing=LearnerXp(dict.fromkeys(PILLARS, 0)),
    )


@lru_cache(maxsize=32)
def _view(engine: Engine, version: int) -> PortfolioView:
    return PortfolioView(engine, version)


def _read(conn: Connection, version: int, tenant: str, learner_id: str) -> LearnerXp:
    x = _view(conn.engine, version).xp.c
    rows = conn.execute(
        select(x.pillar, x.xp).where(x.tenant == tenant, x.learner_id == learner_id)
    ).all()
    earned = {str(pillar): int(xp) for pillar, xp in rows}
    by_pillar = {pillar: earned.pop(pillar, 0) for pillar in PILLARS}
    # A pillar outside the five (a source's own word) still counts in the total.
    return LearnerXp(by_pillar | dict(sorted(earned.items())))
