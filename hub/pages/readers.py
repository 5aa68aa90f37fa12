"""What the pages read, given to them by the composition root (`hub` imports no projection).

`PageReaders` bundles the read models' readers, each with its engine already bound:
the portfolio (and its replay as of a date), badge progress, and the family's access
decision and views. A reader left None is a read model this hub does not run: the page
says so, and `access` then lets a person see only themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from fastapi import Request


class Access(Protocol):
    """The family's decision for one viewer and one learner."""

    @property
    def can_view(self) -> bool: ...

    @property
    def can_view_evidence(self) -> bool: ...

    @property
    def can_comment(self) -> bool: ...

    @property
    def reason(self) -> str:
        """Why (`projections.family`'s reasons: self, guardian, observer, other_tenant,
        not_linked, link_removed; and the pages' own: anonymous, private, public)."""


@dataclass(frozen=True)
class Decision:
    """An `Access` the pages decide themselves."""

    can_view: bool
    can_view_evidence: bool
    can_comment: bool
    reason: str

    @classmethod
    def denied(cls, reason: str) -> Decision:
        return cls(can_view=False, can_view_evidence=False, can_comment=False, reason=reason)


SELF = Decision(can_view=True, can_view_evidence=True, can_comment=False, reason="self")
ANONYMOUS = Decision.denied("anonymous")

# (tenant, learner id) -> projections.portfolio.Portfolio | None
PortfolioReader = Callable[[str, str], Any]
# (tenant, learner id, until) -> the portfolio replayed from the log up to `until`
PortfolioAsOf = Callable[[str, str, datetime], Any]
# (tenant, learner id) -> list of projections.badges.BadgeProgress
BadgeReader = Callable[[str, str], Sequence[Any]]
# (tenant, viewer id, viewer role, learner id) -> Access
AccessReader = Callable[[str, str, str, str], Access]
# (tenant, after learner id or None, limit) -> projections.portfolio.LearnerProfile, by id
LearnersReader = Callable[[str, str | None, int], Sequence[Any]]
# (tenant, person id) -> the family's view for a parent or an observer
FamilyView = Callable[[str, str], Any]


@dataclass(frozen=True)
class PageReaders:
    portfolio: PortfolioReader | None = None
    portfolio_as_of: PortfolioAsOf | None = None
    badge_progress: BadgeReader | None = None
    access: AccessReader | None = None
    parent_view: FamilyView | None = None
    observer_view: FamilyView | None = None
    comments_on: FamilyView | None = None
    learners: LearnersReader | None = None


def page_readers(request: Request) -> PageReaders:
    """The app's readers: `app.state.page_readers` when the composition root set them, else
    the portfolio reader `create_app` was given (as `learning_progress`), alone."""
    readers: PageReaders | None = getattr(request.app.state, "page_readers", None)
    if readers is not None:
        return readers
    return PageReaders(portfolio=request.app.state.learning_progress)
